package agentapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/connlimit"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// EnrollActor is the audit log's actor of enrollments: the agent itself,
// identified by the secret it presented (in the entry's detail) and its
// address.
const EnrollActor = "agent"

// DefaultRefusalAudit bounds the audit entries of refused enrollments: an
// attacker guessing secrets must not fill the audit log. Up to 60 at once,
// then one a second, per server; the entry after a gap says how many were
// left out (the metrics and the sampled log count them all).
var DefaultRefusalAudit = connlimit.Buckets{Rate: 1, Burst: 60}

// Enroll checks the enrollment secret, issues a client certificate for the
// CSR and records the device.
func (s *Server) Enroll(ctx context.Context, req *vcguardv1.EnrollRequest) (*vcguardv1.EnrollResponse, error) {
	s.init()
	if addr := connlimit.KeyString(peerAddr(ctx)); !s.EnrollPerAddr.Allow(addr) {
		s.Metrics.Refused(ReasonEnrollRateAddr)
		s.sampler.Log(slog.LevelWarn, ReasonEnrollRateAddr, "enrollments refused: too many from one address", "addr", addr)
		s.tarpit(ctx)
		return nil, status.Error(codes.ResourceExhausted, "too many enrollments from this address; retry later")
	}
	info := req.GetDevice()
	if err := checkDeviceInfo(info); err != nil {
		s.Metrics.Enrollment(metrics.EnrollInvalid)
		return nil, err
	}
	if n := len(req.GetDeviceGroup()); n > maxDeviceField {
		s.Metrics.Enrollment(metrics.EnrollInvalid)
		return nil, status.Errorf(codes.InvalidArgument, "device_group is %d bytes long, at most %d are accepted", n, maxDeviceField)
	}
	log := s.Logger.With("rpc", "Enroll", "hostname", info.GetHostname(), "peer", peerAddr(ctx))
	if req.GetEnrollSecret() == "" {
		s.Metrics.Enrollment(metrics.EnrollInvalid)
		return nil, status.Error(codes.InvalidArgument, "enroll_secret is empty")
	}
	if strings.TrimSpace(info.GetHostname()) == "" || info.GetOs() == "" {
		s.Metrics.Enrollment(metrics.EnrollInvalid)
		return nil, status.Error(codes.InvalidArgument, "device.hostname and device.os are required")
	}
	now := s.now()
	storeDone := s.Metrics.StoreTimer(metrics.OpEnroll)
	secret, err := s.Store.EnrollmentSecretByHash(ctx, auth.Hash(req.GetEnrollSecret()))
	storeDone()
	if errors.Is(err, store.ErrNotFound) || (err == nil && !secret.Usable(now)) {
		s.Metrics.Enrollment(metrics.EnrollDenied)
		why := "unknown secret"
		if err == nil {
			why = secret.Unusable(now)
		}
		s.auditRefusal(ctx, secret.ID, why, info)
		s.sampler.Log(slog.LevelWarn, "enroll_bad_secret", "enrollment refused: unknown, expired or revoked secret (sampled)",
			"hostname", info.GetHostname(), "peer", peerAddr(ctx))
		s.tarpit(ctx)
		return nil, status.Error(codes.PermissionDenied, "the enrollment secret is not valid (unknown, expired or revoked); ask IT for the current one")
	}
	if err != nil {
		s.Metrics.Enrollment(metrics.EnrollError)
		log.Error("enrollment failed", "err", err)
		return nil, status.Error(codes.Internal, "enrollment failed on the server")
	}
	if !s.EnrollPerSecret.Allow(secret.ID) {
		s.Metrics.Refused(ReasonEnrollRateSecret)
		s.sampler.Log(slog.LevelWarn, ReasonEnrollRateSecret, "enrollments refused: too many with one secret", "secret", secret.ID)
		s.tarpit(ctx)
		return nil, status.Error(codes.ResourceExhausted, "too many enrollments with this secret; retry later")
	}
	// A requested group (the device's managed DeviceGroup) chooses
	// nothing: the secret decides the group, and a request for another
	// group is refused, so that a device never joins a group its secret
	// does not grant and a mismatched secret is caught at once.
	if g := req.GetDeviceGroup(); g != "" && g != secret.Group {
		s.Metrics.Enrollment(metrics.EnrollDenied)
		log.Warn("enrollment refused: the secret does not grant the requested group", "secret", secret.ID, "requested_group", g, "secret_group", secret.Group)
		s.auditRefusal(ctx, secret.ID, fmt.Sprintf("the secret grants group %q, the device asked for %q", secret.Group, g), info)
		granted := fmt.Sprintf("group %q", secret.Group)
		if secret.Group == "" {
			granted = "no group"
		}
		return nil, status.Errorf(codes.PermissionDenied, "the enrollment secret grants %s, not the requested group %q; use a secret for that group or correct the device group in the managed configuration", granted, g)
	}
	deviceID := "dev_" + auth.NewID()
	certPEM, serial, err := s.CA.IssueClient(req.GetCsrDer(), deviceID)
	if err != nil {
		s.Metrics.Enrollment(metrics.EnrollInvalid)
		return nil, status.Errorf(codes.InvalidArgument, "csr_der: %v", err)
	}
	dev := store.Device{
		ID: deviceID, Hostname: info.GetHostname(), OS: info.GetOs(), OSVersion: info.GetOsVersion(),
		Arch: info.GetArch(), AgentVersion: info.GetAgentVersion(), SecretID: secret.ID, CertSerial: serial, Enrolled: now,
		Group: secret.Group,
	}
	storeDone = s.Metrics.StoreTimer(metrics.OpEnroll)
	err = s.Store.EnrollDevice(ctx, dev, now, enrollAudit(ctx, now, "device_enroll", "device:"+deviceID, map[string]any{
		"hostname": dev.Hostname, "os": dev.OS, "os_version": dev.OSVersion, "agent_version": dev.AgentVersion,
		"secret": secret.ID, "group": dev.Group,
	}))
	storeDone()
	if errors.Is(err, store.ErrSecretUnusable) {
		// Revoked, expired or used up since it was looked up (another
		// device took its last use): refused like an unusable secret.
		s.Metrics.Enrollment(metrics.EnrollDenied)
		s.auditRefusal(ctx, secret.ID, "used up, expired or revoked during the enrollment", info)
		return nil, status.Error(codes.PermissionDenied, "the enrollment secret is not valid (used up, expired or revoked); ask IT for the current one")
	}
	if err != nil {
		s.Metrics.Enrollment(metrics.EnrollError)
		log.Error("enrollment failed", "err", err)
		return nil, status.Error(codes.Internal, "enrollment failed on the server")
	}
	s.Metrics.Enrollment(metrics.EnrollOK)
	log.Info("device enrolled", "device", deviceID, "secret", secret.ID)
	return &vcguardv1.EnrollResponse{
		DeviceId: deviceID, ClientCertPem: certPEM, CaPem: s.CA.CAPEM(), PolicyPublicKey: s.PolicyKey, Group: secret.Group,
	}, nil
}

// maxDeviceField bounds each text an agent reports about its device: the
// fields are stored and shown, and an unauthenticated Enroll logs one.
const maxDeviceField = 255

// checkDeviceInfo refuses device fields longer than maxDeviceField.
func checkDeviceInfo(d *vcguardv1.DeviceInfo) error {
	for name, v := range map[string]string{"hostname": d.GetHostname(), "os": d.GetOs(), "os_version": d.GetOsVersion(),
		"arch": d.GetArch(), "agent_version": d.GetAgentVersion()} {
		if len(v) > maxDeviceField {
			return status.Errorf(codes.InvalidArgument, "device.%s is %d bytes long, at most %d are accepted", name, len(v), maxDeviceField)
		}
	}
	return nil
}

// enrollAudit is the audit entry of an enrollment event.
func enrollAudit(ctx context.Context, now time.Time, action, target string, detail map[string]any) store.AuditEntry {
	b, err := json.Marshal(detail)
	if err != nil { // maps of strings and numbers always marshal
		b = nil
	}
	return store.AuditEntry{At: now, Actor: EnrollActor, Action: action, Target: target, Detail: b, RemoteAddr: peerAddr(ctx)}
}

// auditRefusal records a refused enrollment (secretID "" when the secret
// is unknown), within refusalAudit's budget.
func (s *Server) auditRefusal(ctx context.Context, secretID, why string, info *vcguardv1.DeviceInfo) {
	if !s.refusalAudit.Allow("") {
		s.refusalsNotAudited.Add(1)
		return
	}
	detail := map[string]any{"reason": why, "hostname": info.GetHostname(), "os": info.GetOs()}
	if n := s.refusalsNotAudited.Swap(0); n > 0 {
		detail["not_audited_before"] = n
	}
	target := "enrollment_secret:" + secretID
	if secretID == "" {
		target = "enrollment_secret:unknown"
	}
	if err := s.Store.AppendAudit(ctx, enrollAudit(ctx, s.now(), "device_enroll_refused", target, detail)); err != nil {
		s.Logger.Error("audit of a refused enrollment failed", "err", err)
	}
}
