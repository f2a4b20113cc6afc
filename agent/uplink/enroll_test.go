package uplink

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// testCA is a CA and a server certificate for 127.0.0.1 it issued.
type testCA struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	server tls.Certificate // leaf only
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	skey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sder, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}, ca, skey.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: ca, key: key, server: tls.Certificate{Certificate: [][]byte{sder}, PrivateKey: skey}}
}

func (c *testCA) pem() []byte { return encodeCert(c.cert) }

// enrollServer is an AgentService that issues client certificates from its
// CA and records what it was asked.
type enrollServer struct {
	vcguardv1.UnimplementedAgentServiceServer
	ca    *testCA
	group string // what the "secret" grants

	mu   sync.Mutex
	reqs []*vcguardv1.EnrollRequest
}

func (s *enrollServer) Enroll(_ context.Context, req *vcguardv1.EnrollRequest) (*vcguardv1.EnrollResponse, error) {
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	if req.GetEnrollSecret() != "s3cret" {
		return nil, status.Error(codes.PermissionDenied, "the enrollment secret is not valid")
	}
	if g := req.GetDeviceGroup(); g != "" && g != s.group {
		return nil, status.Errorf(codes.PermissionDenied, "the enrollment secret grants group %q, not %q", s.group, g)
	}
	csr, err := x509.ParseCertificateRequest(req.GetCsrDer())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "dev_1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}, s.ca.cert, csr.PublicKey, s.ca.key)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &vcguardv1.EnrollResponse{
		DeviceId: "dev_1", ClientCertPem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		CaPem: s.ca.pem(), PolicyPublicKey: []byte("policy-key"), Group: s.group,
	}, nil
}

func (s *enrollServer) requests() []*vcguardv1.EnrollRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*vcguardv1.EnrollRequest(nil), s.reqs...)
}

// startEnrollServer serves s over TLS on a random loopback port with the
// given chain (leaf first) and returns its address.
func startEnrollServer(t *testing.T, s *enrollServer, chain [][]byte) string {
	t.Helper()
	cert := s.ca.server
	cert.Certificate = chain
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}})))
	vcguardv1.RegisterAgentServiceServer(srv, s)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return l.Addr().String()
}

func withColons(fp string) string {
	var parts []string
	for i := 0; i < len(fp); i += 2 {
		parts = append(parts, strings.ToUpper(fp[i:i+2]))
	}
	return strings.Join(parts, ":")
}

func TestParseFingerprint(t *testing.T) {
	t.Parallel()
	hex := strings.Repeat("ab", 32)
	for _, in := range []string{hex, strings.ToUpper(hex), withColons(hex), " " + withColons(hex) + "\n", "sha256=" + hex} {
		if got, err := ParseFingerprint(in); err != nil || got != hex {
			t.Errorf("ParseFingerprint(%q) = %q, %v; want %q", in, got, err, hex)
		}
	}
	for _, in := range []string{"", "abc", strings.Repeat("ab", 20), strings.Repeat("zz", 32), strings.Repeat("ab", 33)} {
		if _, err := ParseFingerprint(in); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
			t.Errorf("ParseFingerprint(%q) = %v, want an error asking for 64 hex digits", in, err)
		}
	}
}

func TestEnrollByFingerprint(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t, "vcguard CA")
	other := newTestCA(t, "another CA")
	leaf := ca.server.Certificate[0]
	leafCert, _ := x509.ParseCertificate(leaf)
	for _, tc := range []struct {
		name    string
		chain   [][]byte
		fp      string
		wantErr string // "" for success
	}{
		{"CA in the chain", [][]byte{leaf, ca.cert.Raw}, withColons(Fingerprint(ca.cert)), ""},
		{"wrong fingerprint", [][]byte{leaf, ca.cert.Raw}, Fingerprint(other.cert), "no CA certificate in the server's chain has the configured fingerprint"},
		{"CA not sent", [][]byte{leaf}, Fingerprint(ca.cert), "no CA certificate in the server's chain has the configured fingerprint"},
		{"leaf pinned", [][]byte{leaf, ca.cert.Raw}, Fingerprint(leafCert), "is not a CA"},
		{"foreign CA appended", [][]byte{leaf, other.cert.Raw}, Fingerprint(other.cert), "does not verify against the CA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := &enrollServer{ca: ca}
			addr := startEnrollServer(t, srv, tc.chain)
			state := t.TempDir()
			if err := StoreSecret(state, "s3cret"); err != nil {
				t.Fatal(err)
			}
			fp, err := ParseFingerprint(tc.fp)
			if err != nil {
				t.Fatal(err)
			}
			id, err := Enroll(context.Background(), EnrollConfig{
				Server: addr, CAFingerprint: fp, StateDir: state, Device: &vcguardv1.DeviceInfo{Hostname: "h", Os: "linux"},
			})
			if tc.wantErr != "" {
				var ee *EnrollError
				if err == nil || !errors.As(err, &ee) || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "not trusted") {
					t.Fatalf("Enroll = %v, want an EnrollError saying the server is not trusted: %q", err, tc.wantErr)
				}
				if n := len(srv.requests()); n != 0 {
					t.Errorf("the server received %d enrollment requests (and the secret) from an untrusted connection", n)
				}
				if _, err := LoadIdentity(state); !errors.Is(err, ErrNotEnrolled) {
					t.Errorf("after a refusal: LoadIdentity = %v", err)
				}
				if !HasStoredSecret(state) {
					t.Error("the stored secret was deleted although the enrollment failed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.DeviceID != "dev_1" {
				t.Errorf("device = %q", id.DeviceID)
			}
			got, err := os.ReadFile(filepath.Join(state, caFile))
			if err != nil || string(got) != string(ca.pem()) {
				t.Errorf("ca.pem = %q, %v; want the pinned CA", got, err)
			}
			if HasStoredSecret(state) {
				t.Error("the stored enrollment secret was not deleted after enrolling")
			}
			if reqs := srv.requests(); len(reqs) != 1 || reqs[0].GetEnrollSecret() != "s3cret" {
				t.Errorf("requests = %v", reqs)
			}
		})
	}
}

func TestEnrollCAAndFingerprintMustAgree(t *testing.T) {
	t.Parallel()
	ca, other := newTestCA(t, "vcguard CA"), newTestCA(t, "another CA")
	srv := &enrollServer{ca: ca}
	addr := startEnrollServer(t, srv, [][]byte{ca.server.Certificate[0]})
	dev := &vcguardv1.DeviceInfo{Hostname: "h", Os: "linux"}
	_, err := Enroll(context.Background(), EnrollConfig{Server: addr, Secret: "s3cret", CAPEM: ca.pem(), CAFingerprint: Fingerprint(other.cert), StateDir: t.TempDir(), Device: dev})
	if err == nil || !strings.Contains(err.Error(), "name different CAs") {
		t.Errorf("CA and a fingerprint of another CA: %v", err)
	}
	if _, err := Enroll(context.Background(), EnrollConfig{Server: addr, Secret: "s3cret", CAPEM: ca.pem(), CAFingerprint: Fingerprint(ca.cert), StateDir: t.TempDir(), Device: dev}); err != nil {
		t.Errorf("CA and its own fingerprint: %v", err)
	}
}

func TestEnrollSecretSources(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t, "vcguard CA")
	srv := &enrollServer{ca: ca, group: "finance"}
	addr := startEnrollServer(t, srv, [][]byte{ca.server.Certificate[0]})
	dev := &vcguardv1.DeviceInfo{Hostname: "h", Os: "linux"}
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrongFile, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		stored  string // "" stores none
		cfg     EnrollConfig
		wantErr string
	}{
		{name: "stored secret", stored: "s3cret"},
		{name: "no secret anywhere", wantErr: "no enrollment secret: give --enroll-secret-file FILE, or store it with `vcguard-agent enroll-secret"},
		{name: "managed secret wins over a file", cfg: EnrollConfig{Secret: "s3cret", SecretFile: wrongFile}},
		{name: "file wins over the stored one", stored: "wrong", cfg: EnrollConfig{SecretFile: secretFile}},
		{name: "refusal names the secret's source", cfg: EnrollConfig{Secret: "wrong", SecretSource: "managed: preferences"}, wantErr: "refused the enrollment secret from managed: preferences"},
		{name: "group the secret grants", stored: "s3cret", cfg: EnrollConfig{Group: "finance"}},
		{name: "group the secret does not grant", stored: "s3cret", cfg: EnrollConfig{Group: "board"}, wantErr: `grants group "finance", not "board"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.Server, cfg.CAPEM, cfg.StateDir, cfg.Device = addr, ca.pem(), t.TempDir(), dev
			if tc.stored != "" {
				if err := StoreSecret(cfg.StateDir, tc.stored); err != nil {
					t.Fatal(err)
				}
			}
			id, err := Enroll(context.Background(), cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Enroll = %v, want an error saying %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), "s3cret") {
					t.Errorf("the error shows the secret: %v", err)
				}
				if tc.stored != "" && !HasStoredSecret(cfg.StateDir) {
					t.Error("the stored secret was deleted although the enrollment failed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Group != "finance" {
				t.Errorf("group = %q", id.Group)
			}
			if HasStoredSecret(cfg.StateDir) {
				t.Error("the stored secret is still there after enrolling")
			}
		})
	}
}

func TestStoreSecret(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state")
	if err := StoreSecret(state, "  s3cret \n"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(state, SecretFile))
	if err != nil || string(data) != "s3cret\n" {
		t.Errorf("stored %q, %v", data, err)
	}
	checkPrivateFile(t, filepath.Join(state, SecretFile))
	for _, bad := range []string{"", "  \n", "a\nb", strings.Repeat("x", maxSecret+1)} {
		if err := StoreSecret(state, bad); err == nil {
			t.Errorf("StoreSecret(%q) succeeded", bad)
		}
	}
	if err := RemoveSecret(state); err != nil || HasStoredSecret(state) {
		t.Errorf("RemoveSecret: %v", err)
	}
	if err := RemoveSecret(state); err != nil {
		t.Errorf("RemoveSecret of nothing: %v", err)
	}
}
