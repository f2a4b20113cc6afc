package adminapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// GRPC implements vcguardv1.AdminServiceServer on top of API.
type GRPC struct {
	vcguardv1.UnimplementedAdminServiceServer
	API *API
}

type principalKey struct{}

// writeMethods need the admin role; every other AdminService method also
// accepts analysts.
var writeMethods = map[string]bool{
	vcguardv1.AdminService_PublishPolicy_FullMethodName:          true,
	vcguardv1.AdminService_ListEnrollmentSecrets_FullMethodName:  true,
	vcguardv1.AdminService_CreateEnrollmentSecret_FullMethodName: true,
	vcguardv1.AdminService_RevokeEnrollmentSecret_FullMethodName: true,
}

// UnaryInterceptor authenticates AdminService calls by their bearer token
// and leaves every other service alone.
func (g *GRPC) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !strings.HasPrefix(info.FullMethod, "/"+vcguardv1.AdminService_ServiceDesc.ServiceName+"/") {
		return handler(ctx, req)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	var token string
	if v := md.Get("authorization"); len(v) > 0 {
		token = auth.BearerToken(v[0])
	}
	p, err := g.API.Tokens.Check(ctx, token)
	if errors.Is(err, auth.ErrUnauthenticated) {
		return nil, status.Error(codes.Unauthenticated, "missing or invalid API token in 'authorization: Bearer <token>' metadata")
	}
	if err != nil {
		g.API.Logger.Error("check token", "err", err)
		return nil, status.Error(codes.Internal, "server error")
	}
	if p.Role != store.RoleAdmin && (writeMethods[info.FullMethod] || p.Role != store.RoleAnalyst) {
		return nil, status.Errorf(codes.PermissionDenied, "role %s may not call %s", p.Role, info.FullMethod)
	}
	resp, err := handler(context.WithValue(ctx, principalKey{}, p), req)
	return resp, toStatus(g.API, err)
}

func toStatus(a *API, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, store.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	a.Logger.Error("admin gRPC", "err", err)
	return status.Error(codes.Internal, "server error")
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func verdictValue(name string) vcguardv1.Verdict { return policies.Verdict(name).Proto() }

// maxGRPCResponseBytes keeps a list response under gRPC's default 4 MiB
// receive limit of clients.
const maxGRPCResponseBytes = 3 << 20

// ListDevices implements AdminService: one page of devices, without their
// app rows (counts and at most 10 running apps instead).
func (g *GRPC) ListDevices(ctx context.Context, req *vcguardv1.ListDevicesRequest) (*vcguardv1.ListDevicesResponse, error) {
	if req.GetLimit() < 0 || req.GetLimit() > store.MaxDeviceLimit {
		return nil, status.Errorf(codes.InvalidArgument, "limit %d: must be from 1 to %d (0 means %d); page through more with cursor = next_cursor",
			req.GetLimit(), store.MaxDeviceLimit, store.DefaultDeviceLimit)
	}
	q := store.DeviceQuery{Limit: int(req.GetLimit())}
	if c := req.GetCursor(); c != "" {
		k, err := store.ParseDeviceKey(c)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "cursor: %v; pass the next_cursor of the previous page", err)
		}
		q.After = &k
	}
	page, err := g.API.Store.ListDevices(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &vcguardv1.ListDevicesResponse{}
	size := 0
	for i, d := range page.Devices {
		pd := &vcguardv1.Device{
			Id: d.ID, Hostname: d.Hostname, Os: d.OS, OsVersion: d.OSVersion, Arch: d.Arch, AgentVersion: d.AgentVersion,
			Enrolled: ts(d.Enrolled), LastSeen: ts(d.LastSeen), Online: d.Online(g.API.now(), g.API.staleAfter()),
			PolicyVersion: d.PolicyVersion, Group: d.Group, Revoked: ts(d.Revoked),
			RunningApps: int32(d.RunningApps), MediaInUse: int32(d.MediaInUse), WorstVerdict: verdictValue(d.WorstVerdict),
		}
		for _, r := range d.Running {
			pd.Running = append(pd.Running, &vcguardv1.RunningApp{AppId: r.AppID, Name: r.Name, Verdict: verdictValue(r.Verdict), Instances: int32(r.Instances)})
		}
		n := proto.Size(pd) + 8
		if i > 0 && size+n > maxGRPCResponseBytes {
			last := page.Devices[i-1]
			out.NextCursor = store.DeviceKey{Hostname: last.Hostname, ID: last.ID}.String()
			return out, nil
		}
		size += n
		out.Devices = append(out.Devices, pd)
	}
	if page.Next != nil {
		out.NextCursor = page.Next.String()
	}
	return out, nil
}

// ListEvents implements AdminService: one page of events, newest first,
// capped in rows and bytes.
func (g *GRPC) ListEvents(ctx context.Context, req *vcguardv1.ListEventsRequest) (*vcguardv1.ListEventsResponse, error) {
	if req.GetLimit() < 0 || req.GetLimit() > store.MaxEventLimit {
		return nil, status.Errorf(codes.InvalidArgument, "limit %d: must be from 1 to %d (0 means %d); page through more with cursor = next_cursor",
			req.GetLimit(), store.MaxEventLimit, store.DefaultEventLimit)
	}
	f := store.EventFilter{DeviceID: req.GetDeviceId(), Type: req.GetType(), Limit: int(req.GetLimit()), MaxBytes: maxGRPCResponseBytes}
	if c := req.GetCursor(); c != "" {
		k, err := store.ParseEventKey(c)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "cursor: %v; pass the next_cursor of the previous page", err)
		}
		f.Before = &k
	}
	page, err := g.API.Store.ListEvents(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &vcguardv1.ListEventsResponse{}
	size := 0
	for i, e := range page.Events {
		pe := &vcguardv1.StoredEvent{DeviceId: e.DeviceID, Seq: e.Seq, Type: e.Type, Time: ts(e.Time), Received: ts(e.Received), Event: e.Event}
		n := proto.Size(pe) + 8
		if i > 0 && size+n > maxGRPCResponseBytes {
			last := page.Events[i-1]
			out.NextCursor = store.EventKey{Time: last.Time, DeviceID: last.DeviceID, Seq: last.Seq}.String()
			return out, nil
		}
		size += n
		out.Events = append(out.Events, pe)
	}
	if page.Next != nil {
		out.NextCursor = page.Next.String()
	}
	return out, nil
}

func policyProto(p store.PolicyVersion, withDocument bool) *vcguardv1.PolicyVersion {
	out := &vcguardv1.PolicyVersion{Version: p.Version, Name: p.Name, Published: ts(p.Published), PublishedBy: p.PublishedBy}
	if withDocument {
		out.Document = p.Document
	}
	return out
}

// ListPolicyVersions implements AdminService.
func (g *GRPC) ListPolicyVersions(ctx context.Context, _ *vcguardv1.ListPolicyVersionsRequest) (*vcguardv1.ListPolicyVersionsResponse, error) {
	ps, err := g.API.Store.Policies(ctx)
	if err != nil {
		return nil, err
	}
	out := &vcguardv1.ListPolicyVersionsResponse{}
	for _, p := range ps {
		out.Versions = append(out.Versions, policyProto(p, false))
	}
	return out, nil
}

// GetPolicy implements AdminService.
func (g *GRPC) GetPolicy(ctx context.Context, req *vcguardv1.GetPolicyRequest) (*vcguardv1.PolicyVersion, error) {
	var p store.PolicyVersion
	var err error
	if req.GetVersion() == 0 {
		p, err = g.API.Store.CurrentPolicy(ctx)
	} else {
		p, err = g.API.Store.Policy(ctx, req.GetVersion())
	}
	if err != nil {
		return nil, err
	}
	return policyProto(p, true), nil
}

// PublishPolicy implements AdminService.
func (g *GRPC) PublishPolicy(ctx context.Context, req *vcguardv1.PublishPolicyRequest) (*vcguardv1.PolicyVersion, error) {
	p, _ := ctx.Value(principalKey{}).(auth.Principal)
	v, err := g.API.PublishPolicy(ctx, req.GetDocument(), p.Subject)
	if err != nil {
		return nil, err
	}
	g.API.Audit(ctx, grpcActor(ctx), "policy_publish", fmt.Sprintf("policy:%d", v.Version), map[string]any{"name": v.Name})
	return policyProto(v, true), nil
}

func secretProto(e store.EnrollmentSecret) *vcguardv1.EnrollmentSecret {
	return &vcguardv1.EnrollmentSecret{Id: e.ID, Description: e.Description, Created: ts(e.Created), Expires: ts(e.Expires), Revoked: ts(e.Revoked)}
}

// ListEnrollmentSecrets implements AdminService.
func (g *GRPC) ListEnrollmentSecrets(ctx context.Context, _ *vcguardv1.ListEnrollmentSecretsRequest) (*vcguardv1.ListEnrollmentSecretsResponse, error) {
	secrets, err := g.API.Store.EnrollmentSecrets(ctx)
	if err != nil {
		return nil, err
	}
	out := &vcguardv1.ListEnrollmentSecretsResponse{}
	for _, e := range secrets {
		out.Secrets = append(out.Secrets, secretProto(e))
	}
	return out, nil
}

// CreateEnrollmentSecret implements AdminService.
func (g *GRPC) CreateEnrollmentSecret(ctx context.Context, req *vcguardv1.CreateEnrollmentSecretRequest) (*vcguardv1.CreateEnrollmentSecretResponse, error) {
	e, value, err := g.API.CreateEnrollmentSecret(ctx, req.GetDescription(), time.Duration(req.GetTtlSeconds())*time.Second)
	if err != nil {
		return nil, err
	}
	g.API.Audit(ctx, grpcActor(ctx), "enrollment_secret_create", "enrollment_secret:"+e.ID,
		map[string]any{"description": e.Description, "expires": optTime(e.Expires)})
	return &vcguardv1.CreateEnrollmentSecretResponse{Secret: secretProto(e), Value: value}, nil
}

// RevokeEnrollmentSecret implements AdminService.
func (g *GRPC) RevokeEnrollmentSecret(ctx context.Context, req *vcguardv1.RevokeEnrollmentSecretRequest) (*vcguardv1.EnrollmentSecret, error) {
	e, err := g.API.Store.RevokeEnrollmentSecret(ctx, req.GetId(), g.API.now())
	if err != nil {
		return nil, err
	}
	g.API.Audit(ctx, grpcActor(ctx), "enrollment_secret_revoke", "enrollment_secret:"+e.ID, nil)
	return secretProto(e), nil
}
