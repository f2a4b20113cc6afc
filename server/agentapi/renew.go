package agentapi

import (
	"context"
	"errors"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RevokedMessage is what a revoked device is told, on Connect and Renew.
// The agent shows it and stops retrying hard.
const RevokedMessage = "this device was revoked by the administrator; it stays cut off until it is enrolled again with a valid enrollment secret"

// ErrorDomain is the Domain of the errdetails.ErrorInfo the agent API
// attaches to a refusal an agent must act on.
const ErrorDomain = "vcguard.eu"

// Reasons of the ErrorInfo on a PermissionDenied refusal: the agent decides
// by the reason, never by the human message.
const (
	// ReasonDeviceRevoked: the administrator revoked the device.
	ReasonDeviceRevoked = "DEVICE_REVOKED"
	// ReasonCertReplaced: the client certificate was replaced by a renewal.
	ReasonCertReplaced = "CERT_REPLACED"
)

// refusal is a PermissionDenied status with msg for a person and an
// ErrorInfo of reason for the agent.
func refusal(reason, msg string) error {
	st, err := status.New(codes.PermissionDenied, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain})
	if err != nil {
		// Only a detail that cannot be marshalled fails; the message
		// alone still refuses.
		return status.Error(codes.PermissionDenied, msg)
	}
	return st.Err()
}

// errRevoked refuses a revoked device.
func errRevoked() error { return refusal(ReasonDeviceRevoked, RevokedMessage) }

// Renew issues a new client certificate for the device the current one
// names. The caller proves its identity with that certificate (mTLS,
// verified against the CA and still valid); a revoked device is refused.
func (s *Server) Renew(ctx context.Context, req *vcguardv1.RenewRequest) (*vcguardv1.RenewResponse, error) {
	deviceID, presented, err := certFromPeer(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Unauthenticated, "a client certificate is required: %v; enroll the agent first", err)
	}
	log := s.Logger.With("rpc", "Renew", "device", deviceID, "peer", peerAddr(ctx))
	dev, err := s.Store.DeviceRecord(ctx, deviceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.PermissionDenied, "device %s is not enrolled here", deviceID)
	}
	if err != nil {
		log.Error("load device", "err", err)
		return nil, status.Error(codes.Internal, "server error")
	}
	if !dev.Revoked.IsZero() {
		log.Warn("renewal refused: device revoked")
		return nil, errRevoked()
	}
	if err := currentCert(dev, presented); err != nil {
		log.Warn("renewal refused: a replaced certificate", "serial", presented)
		return nil, err
	}
	certPEM, serial, err := s.CA.IssueClient(req.GetCsrDer(), deviceID)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "csr_der: %v", err)
	}
	if err := s.Store.SetCertSerial(ctx, deviceID, serial); err != nil {
		log.Error("record renewed certificate", "err", err)
		return nil, status.Error(codes.Internal, "server error")
	}
	log.Info("client certificate renewed", "serial", serial)
	return &vcguardv1.RenewResponse{ClientCertPem: certPEM, Group: dev.Group}, nil
}
