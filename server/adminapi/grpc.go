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

// ListDevices implements AdminService.
func (g *GRPC) ListDevices(ctx context.Context, _ *vcguardv1.ListDevicesRequest) (*vcguardv1.ListDevicesResponse, error) {
	devs, err := g.API.Store.Devices(ctx)
	if err != nil {
		return nil, err
	}
	out := &vcguardv1.ListDevicesResponse{}
	for _, d := range devs {
		pd := &vcguardv1.Device{
			Id: d.ID, Hostname: d.Hostname, Os: d.OS, OsVersion: d.OSVersion, Arch: d.Arch, AgentVersion: d.AgentVersion,
			Enrolled: ts(d.Enrolled), LastSeen: ts(d.LastSeen), Online: d.Online(g.API.now(), g.API.staleAfter()),
			PolicyVersion: d.PolicyVersion,
		}
		for _, a := range d.Apps {
			pd.Apps = append(pd.Apps, &vcguardv1.DeviceApp{
				AppId: a.AppID, Name: a.Name, Pid: a.PID, Running: a.Running, Verdict: verdictValue(a.Verdict),
				Exe: a.Exe, Started: ts(a.Started), Stopped: ts(a.Stopped),
				Version: a.Version, Verified: a.Verified, Identity: a.Identity,
			})
		}
		out.Devices = append(out.Devices, pd)
	}
	return out, nil
}

// ListEvents implements AdminService.
func (g *GRPC) ListEvents(ctx context.Context, req *vcguardv1.ListEventsRequest) (*vcguardv1.ListEventsResponse, error) {
	if req.GetLimit() < 0 || req.GetLimit() > 10000 {
		return nil, status.Error(codes.InvalidArgument, "limit must be from 0 to 10000")
	}
	events, err := g.API.Store.Events(ctx, store.EventFilter{DeviceID: req.GetDeviceId(), Type: req.GetType(), Limit: int(req.GetLimit())})
	if err != nil {
		return nil, err
	}
	out := &vcguardv1.ListEventsResponse{}
	for _, e := range events {
		out.Events = append(out.Events, &vcguardv1.StoredEvent{
			DeviceId: e.DeviceID, Seq: e.Seq, Type: e.Type, Time: ts(e.Time), Received: ts(e.Received), Event: e.Event,
		})
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
