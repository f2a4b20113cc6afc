package agentapi_test

import (
	"strings"
	"testing"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/agentapi"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errorInfo returns the ErrorInfo detail of a gRPC error, nil if none.
func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// wantRefusal checks a PermissionDenied refusal with its human message and
// the ErrorInfo reason the agent acts on.
func wantRefusal(t *testing.T, what string, err error, reason, message string) {
	t.Helper()
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("%s: %v, want PermissionDenied", what, err)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, message) {
		t.Errorf("%s: message %q, want %q", what, msg, message)
	}
	info := errorInfo(err)
	if info == nil || info.GetReason() != reason || info.GetDomain() != agentapi.ErrorDomain {
		t.Errorf("%s: ErrorInfo %v, want reason %s in domain %s", what, info, reason, agentapi.ErrorDomain)
	}
}

// A revoked device is refused on Connect and Renew with PermissionDenied,
// the human message and an ErrorInfo whose reason is DEVICE_REVOKED; a
// replaced certificate carries CERT_REPLACED.
func TestRefusalsCarryErrorInfo(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil, nil)
	id, cert := s.enroll(t)
	if _, err := s.env.Service.RevokeDevice(t.Context(), admin.SystemActor, id); err != nil {
		t.Fatal(err)
	}
	_, err := s.connect2(t, cert)
	wantRefusal(t, "Connect of a revoked device", err, agentapi.ReasonDeviceRevoked, agentapi.RevokedMessage)
	_, err = s.dial(t, cert).Renew(t.Context(), &vcguardv1.RenewRequest{})
	wantRefusal(t, "Renew of a revoked device", err, agentapi.ReasonDeviceRevoked, agentapi.RevokedMessage)
}
