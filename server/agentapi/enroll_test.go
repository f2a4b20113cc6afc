package agentapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/connlimit"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Enrollments and refused enrollments are in the audit log: an enrollment
// in its own transaction (device, use of the secret, entry), a refusal with
// its reason; a secret limited to two devices enrolls two.
func TestEnrollmentsAreAudited(t *testing.T) {
	s := newTestServer(t, metrics.New(), nil)
	s.agents.RefusalDelay = -1
	ctx := t.Context()
	_, limited, err := s.env.Service.CreateEnrollmentSecret(ctx, admin.SystemActor, admin.SecretSpec{Description: "two", MaxUses: 2})
	if err != nil {
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
	client := s.dial(t, nil)
	enroll := func(secret, host string) error {
		_, err := client.Enroll(ctx, &vcguardv1.EnrollRequest{EnrollSecret: secret, CsrDer: csr,
			Device: &vcguardv1.DeviceInfo{Hostname: host, Os: "linux"}})
		return err
	}
	for _, host := range []string{"a", "b"} {
		if err := enroll(limited, host); err != nil {
			t.Fatalf("enrollment %s: %v", host, err)
		}
	}
	if err := enroll(limited, "c"); status.Code(err) != codes.PermissionDenied {
		t.Errorf("third enrollment with a two-device secret: %v, want PermissionDenied", err)
	}
	if err := enroll("vcg_enroll_guessed", "d"); status.Code(err) != codes.PermissionDenied {
		t.Errorf("enrollment with an unknown secret: %v, want PermissionDenied", err)
	}

	ok, err := s.env.Store.AuditLog(ctx, store.AuditFilter{Action: "device_enroll"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ok) != 2 {
		t.Fatalf("%d device_enroll entries, want 2: %+v", len(ok), ok)
	}
	for _, e := range ok {
		var d map[string]any
		if err := json.Unmarshal(e.Detail, &d); err != nil || e.Actor != "agent" || e.RemoteAddr == "" || d["os"] != "linux" || d["secret"] == "" {
			t.Errorf("enrollment entry %+v (detail %v)", e, d)
		}
	}
	refused, err := s.env.Store.AuditLog(ctx, store.AuditFilter{Action: "device_enroll_refused"})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, e := range refused {
		var d map[string]any
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatal(err)
		}
		reasons[d["hostname"].(string)] = d["reason"].(string) + " @ " + e.Target
	}
	if len(refused) != 2 || reasons["c"] != "used up @ enrollment_secret:"+secretID(t, s, "two") || reasons["d"] != "unknown secret @ enrollment_secret:unknown" {
		t.Errorf("refusal entries: %v", reasons)
	}
	list, err := s.env.Service.EnrollmentSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range list {
		if sec.Description == "two" && (sec.Uses != 2 || sec.MaxUses != 2 || sec.Usable || sec.State != "used up") {
			t.Errorf("secret after two enrollments: %+v", sec)
		}
		if sec.Expires == nil || sec.Expires.Sub(sec.Created) != admin.DefaultSecretTTL {
			t.Errorf("secret %s expires %v, want %v after its creation", sec.Description, sec.Expires, admin.DefaultSecretTTL)
		}
	}
}

func secretID(t *testing.T, s *testServer, description string) string {
	t.Helper()
	list, err := s.env.Service.EnrollmentSecrets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range list {
		if sec.Description == description {
			return sec.ID
		}
	}
	t.Fatalf("no secret %q", description)
	return ""
}

// Refusals beyond the audit budget are counted, not written: a flood of
// guessed secrets cannot fill the audit log.
func TestEnrollmentRefusalAuditIsBounded(t *testing.T) {
	s := newTestServer(t, metrics.New(), nil)
	s.agents.RefusalDelay = -1
	s.agents.EnrollPerAddr = &connlimit.Buckets{Rate: 1000, Burst: 1000} // not the bound under test
	ctx := t.Context()
	client := s.dial(t, nil)
	const tries = 100
	for range tries {
		client.Enroll(ctx, &vcguardv1.EnrollRequest{EnrollSecret: "vcg_enroll_guess", CsrDer: []byte{1},
			Device: &vcguardv1.DeviceInfo{Hostname: "x", Os: "linux"}})
	}
	refused, err := s.env.Store.AuditLog(ctx, store.AuditFilter{Action: "device_enroll_refused"})
	if err != nil {
		t.Fatal(err)
	}
	// 60 at once, then one a second; the run takes well under 40 s.
	if n := len(refused); n < 60 || n > 60+40 || n == tries {
		t.Errorf("%d of %d refusals audited, want the budget's 60 (and one a second after)", n, tries)
	}

}

// The greeting ends with the device's group, and an admin moving the
// device pushes the new group on its open stream.
func TestGroupPushed(t *testing.T) {
	s := newTestServer(t, metrics.New(), nil)
	deviceID, cert := s.enroll(t)
	if _, err := s.env.Service.SetDeviceGroup(t.Context(), admin.SystemActor, deviceID, "radiology"); err != nil {
		t.Fatal(err)
	}
	stream, err := s.dial(t, cert).Connect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Hello{Hello: &vcguardv1.Hello{
		Device: &vcguardv1.DeviceInfo{Hostname: "laptop-1", Os: "linux"}, PolicyVersion: 1,
	}}}); err != nil {
		t.Fatal(err)
	}
	next := func(what string) string {
		t.Helper()
		for {
			m, err := stream.Recv()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if g := m.GetGroup(); g != nil {
				return g.GetGroup()
			}
		}
	}
	if g := next("the greeting's group"); g != "radiology" {
		t.Errorf("greeting group %q, want radiology", g)
	}
	// The stream is registered with the hub once the greeting was sent.
	for deadline := time.Now().Add(10 * time.Second); s.env.Hub.Connected() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stream never registered")
		}
	}
	if _, err := s.env.Service.SetDeviceGroup(t.Context(), admin.SystemActor, deviceID, "cardiology"); err != nil {
		t.Fatal(err)
	}
	if g := next("the pushed group"); g != "cardiology" {
		t.Errorf("pushed group %q, want cardiology", g)
	}
}
