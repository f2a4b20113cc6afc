package pki_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/pki"
)

// A CA kept outside the data directory (the database) issues client
// certificates of the configured lifetime at the injected time; the
// server certificate is reissued when the CA changes.
func TestNewWithOptions(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	certPEM, keyPEM, err := pki.GenerateCA(now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, err := pki.New(certPEM, keyPEM, dir, []string{"localhost"}, pki.Options{ClientLifetime: 10 * time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if a.ClientCertLifetime() != 10*time.Second {
		t.Errorf("ClientCertLifetime = %v", a.ClientCertLifetime())
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, key)
	issued, _, err := a.IssueClient(csr, "dev-1")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(issued)
	cert, _ := x509.ParseCertificate(block.Bytes)
	if !cert.NotAfter.Equal(now.Add(10*time.Second)) || !cert.NotBefore.Equal(now.Add(-time.Second)) {
		t.Errorf("issued %v..%v, want %v..%v (backdated a tenth)", cert.NotBefore, cert.NotAfter, now.Add(-time.Second), now.Add(10*time.Second))
	}

	// Another CA: the server certificate in dir is reissued by it.
	cert2, key2, _ := pki.GenerateCA(now)
	b, err := pki.New(cert2, key2, dir, []string{"localhost"}, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.ClientCertLifetime() != pki.ClientLifetime {
		t.Errorf("default lifetime %v", b.ClientCertLifetime())
	}
	srv := readCert(t, dir+"/server.pem")
	ca2, _ := x509.ParseCertificate(mustDecode(t, cert2))
	if err := srv.CheckSignatureFrom(ca2); err != nil {
		t.Errorf("server certificate not reissued by the new CA: %v", err)
	}
	// A key that is not the certificate's is refused.
	if _, err := pki.New(certPEM, key2, t.TempDir(), nil, pki.Options{}); err == nil {
		t.Error("a CA with a mismatched key was accepted")
	}
}

func mustDecode(t *testing.T, p []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(p)
	if block == nil {
		t.Fatal("no PEM")
	}
	return block.Bytes
}
