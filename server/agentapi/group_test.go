package agentapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A device may ask for a group (its managed DeviceGroup), but only the
// enrollment secret grants one: a request for any other group is refused
// and nothing is stored.
func TestEnrollRequestedGroup(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil, nil)
	finance, hash := auth.NewSecret("vcg_enroll_")
	if err := s.env.Store.CreateEnrollmentSecret(t.Context(), store.EnrollmentSecret{
		ID: "sec_fin", Description: "finance", Hash: hash, Created: time.Now(), Group: "finance",
	}, store.AuditEntry{At: time.Now(), Actor: "test", Action: "enrollment_secret_create"}); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, secret, group string
		wantGroup           string
		wantErr             string
	}{
		{name: "no request: the secret's group", secret: finance, wantGroup: "finance"},
		{name: "the secret's group", secret: finance, group: "finance", wantGroup: "finance"},
		{name: "another group", secret: finance, group: "board", wantErr: `grants group "finance", not the requested group "board"`},
		{name: "a group from a secret without one", secret: s.secret, group: "finance", wantErr: `grants no group, not the requested group "finance"`},
		{name: "no request, no group", secret: s.secret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := s.env.Store.Devices(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			resp, err := s.dial(t, nil).Enroll(t.Context(), &vcguardv1.EnrollRequest{
				EnrollSecret: tc.secret, CsrDer: csr, DeviceGroup: tc.group, Device: &vcguardv1.DeviceInfo{Hostname: "laptop-g", Os: "darwin"},
			})
			if tc.wantErr != "" {
				if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Enroll = %v, want PermissionDenied saying %q", err, tc.wantErr)
				}
				after, _ := s.env.Store.Devices(t.Context())
				if len(after) != len(before) {
					t.Errorf("a refused enrollment stored a device")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetGroup() != tc.wantGroup {
				t.Errorf("group = %q, want %q", resp.GetGroup(), tc.wantGroup)
			}
		})
	}
	if _, err := s.dial(t, nil).Enroll(t.Context(), &vcguardv1.EnrollRequest{
		EnrollSecret: finance, CsrDer: csr, DeviceGroup: strings.Repeat("g", 300), Device: &vcguardv1.DeviceInfo{Hostname: "laptop-g", Os: "darwin"},
	}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a 300-byte group: %v, want InvalidArgument", err)
	}
}
