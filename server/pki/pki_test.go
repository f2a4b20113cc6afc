package pki_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/pki"
)

// Private key files as LoadOrCreate names them.
var keyFiles = []string{"ca-key.pem", "server-key.pem"}

func loadOrCreate(t *testing.T, dir string, hosts ...string) *pki.Authority {
	t.Helper()
	a, err := pki.LoadOrCreate(dir, hosts)
	if err != nil {
		t.Fatalf("LoadOrCreate(%v): %v", hosts, err)
	}
	return a
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no certificate", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLoadOrCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := loadOrCreate(t, dir, "vcguard.example", "127.0.0.1")

	for _, name := range keyFiles {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		wantPrivateMode(t, name, fi)
	}
	ca := readCert(t, filepath.Join(dir, pki.CAFile))
	if !ca.IsCA || ca.Subject.CommonName != "vcguard CA" || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA certificate: IsCA %v subject %v usage %v", ca.IsCA, ca.Subject, ca.KeyUsage)
	}
	if !bytes.Equal(a.CAPEM(), mustRead(t, filepath.Join(dir, pki.CAFile))) {
		t.Error("CAPEM differs from ca.pem")
	}
	srv := readCert(t, filepath.Join(dir, "server.pem"))
	if err := srv.CheckSignatureFrom(ca); err != nil {
		t.Errorf("server certificate not issued by the CA: %v", err)
	}
	if err := srv.VerifyHostname("vcguard.example"); err != nil {
		t.Error(err)
	}
	if err := srv.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if _, err := srv.Verify(x509.VerifyOptions{Roots: a.Pool(), DNSName: "vcguard.example",
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("server certificate does not verify against Pool: %v", err)
	}

	// The second start loads the same CA and server certificate.
	b := loadOrCreate(t, dir, "vcguard.example", "127.0.0.1")
	if !bytes.Equal(a.CAPEM(), b.CAPEM()) {
		t.Error("second LoadOrCreate made a new CA")
	}
	if srv2 := readCert(t, filepath.Join(dir, "server.pem")); !srv2.Equal(srv) {
		t.Error("second LoadOrCreate reissued a server certificate that covers the hosts")
	}
	// A subset of the hosts is covered too.
	loadOrCreate(t, dir, "127.0.0.1")
	if srv2 := readCert(t, filepath.Join(dir, "server.pem")); !srv2.Equal(srv) {
		t.Error("LoadOrCreate reissued for a subset of the hosts")
	}

	// A new host name: same CA, new server certificate naming it.
	c := loadOrCreate(t, dir, "vcguard.example", "127.0.0.1", "vcguard.internal", "::1")
	if !bytes.Equal(a.CAPEM(), c.CAPEM()) {
		t.Error("a new host name made a new CA")
	}
	srv3 := readCert(t, filepath.Join(dir, "server.pem"))
	if srv3.Equal(srv) {
		t.Fatal("server certificate not reissued for a new host name")
	}
	for _, h := range []string{"vcguard.example", "vcguard.internal", "127.0.0.1", "::1"} {
		if err := srv3.VerifyHostname(h); err != nil {
			t.Errorf("reissued certificate: %v", err)
		}
	}
	if err := srv3.CheckSignatureFrom(ca); err != nil {
		t.Errorf("reissued certificate not from the CA: %v", err)
	}
	for _, name := range keyFiles {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("after reissue: %v", err)
		}
		wantPrivateMode(t, "after reissue "+name, fi)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A server certificate from another CA (e.g. a restored backup of the wrong
// server) is replaced.
func TestLoadOrCreateReplacesForeignServerCert(t *testing.T) {
	t.Parallel()
	dirA, dirB := t.TempDir(), t.TempDir()
	loadOrCreate(t, dirA, "a.example")
	loadOrCreate(t, dirB, "a.example")
	for _, name := range []string{"server.pem", "server-key.pem"} {
		if err := os.WriteFile(filepath.Join(dirA, name), mustRead(t, filepath.Join(dirB, name)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	loadOrCreate(t, dirA, "a.example")
	srv := readCert(t, filepath.Join(dirA, "server.pem"))
	if err := srv.CheckSignatureFrom(readCert(t, filepath.Join(dirA, pki.CAFile))); err != nil {
		t.Errorf("foreign server certificate kept: %v", err)
	}
}

func TestLoadOrCreateErrors(t *testing.T) {
	t.Parallel()
	t.Run("missing directory", func(t *testing.T) {
		t.Parallel()
		if _, err := pki.LoadOrCreate(filepath.Join(t.TempDir(), "nope"), nil); err == nil {
			t.Error("LoadOrCreate in a missing directory succeeded")
		}
	})
	t.Run("broken CA certificate", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		loadOrCreate(t, dir, "a.example")
		if err := os.WriteFile(filepath.Join(dir, pki.CAFile), []byte("garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := pki.LoadOrCreate(dir, []string{"a.example"})
		if err == nil || !strings.Contains(err.Error(), pki.CAFile) {
			t.Errorf("error %v does not name %s", err, pki.CAFile)
		}
	})
	t.Run("missing CA key", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		loadOrCreate(t, dir, "a.example")
		if err := os.Remove(filepath.Join(dir, "ca-key.pem")); err != nil {
			t.Fatal(err)
		}
		if _, err := pki.LoadOrCreate(dir, []string{"a.example"}); err == nil {
			t.Error("LoadOrCreate without the CA key succeeded")
		}
	})
}

func csr(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "chosen by the agent"},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func ecKey(t *testing.T, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestIssueClient(t *testing.T) {
	t.Parallel()
	a := loadOrCreate(t, t.TempDir(), "localhost")

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := csr(t, ecKey(t, elliptic.P256()))
	badSig := bytes.Clone(good)
	badSig[len(badSig)-1] ^= 0xff // last byte of the ECDSA signature's s
	if _, err := x509.ParseCertificateRequest(badSig); err != nil {
		t.Fatalf("tampered CSR no longer parses (test is wrong): %v", err)
	}

	tests := []struct {
		name    string
		csr     []byte
		wantErr string
	}{
		{"garbage", []byte("not a CSR"), "parse certificate signing request"},
		{"empty", nil, "parse certificate signing request"},
		{"truncated", good[:len(good)/2], "parse certificate signing request"},
		{"bad signature", badSig, "signature"},
		{"RSA key", csr(t, rsaKey), "not accepted (want ECDSA)"},
		{"Ed25519 key", csr(t, edKey), "not accepted (want ECDSA)"},
		{"P-224 key", csr(t, ecKey(t, elliptic.P224())), "P-256 or P-384"},
		{"P-521 key", csr(t, ecKey(t, elliptic.P521())), "P-256 or P-384"},
	}
	for _, tt := range tests {
		cert, serial, err := a.IssueClient(tt.csr, "dev-1")
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: IssueClient = %q, %q, %v; want error containing %q", tt.name, cert, serial, err, tt.wantErr)
		}
	}

	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384()} {
		key := ecKey(t, curve)
		certPEM, serial, err := a.IssueClient(csr(t, key), "dev-42")
		if err != nil {
			t.Fatalf("%s: %v", curve.Params().Name, err)
		}
		block, _ := pem.Decode(certPEM)
		if block == nil || block.Type != "CERTIFICATE" {
			t.Fatalf("IssueClient returned %q", certPEM)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		// The server decides the name, not the agent.
		if cert.Subject.CommonName != "dev-42" {
			t.Errorf("client certificate CN = %q, want dev-42", cert.Subject.CommonName)
		}
		if cert.SerialNumber.Text(16) != serial {
			t.Errorf("serial %s, certificate has %s", serial, cert.SerialNumber.Text(16))
		}
		if !cert.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
			t.Error("certificate is not for the CSR's key")
		}
		if cert.IsCA {
			t.Error("client certificate is a CA")
		}
		if life := cert.NotAfter.Sub(cert.NotBefore); life < pki.ClientLifetime || life > pki.ClientLifetime+time.Hour {
			t.Errorf("client certificate lifetime %v", life)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: a.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("client certificate does not verify for client auth: %v", err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: a.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
			t.Error("client certificate verifies for server auth")
		}
	}

	// Serials are unique.
	_, s1, err1 := a.IssueClient(good, "dev-1")
	_, s2, err2 := a.IssueClient(good, "dev-1")
	if err1 != nil || err2 != nil || s1 == s2 {
		t.Errorf("two issues: serials %s %s, errors %v %v", s1, s2, err1, err2)
	}
}

// A real TLS 1.3 handshake over loopback with the server's configuration.
func TestServerTLSHandshake(t *testing.T) {
	t.Parallel()
	a := loadOrCreate(t, t.TempDir(), "localhost", "127.0.0.1")

	key := ecKey(t, elliptic.P256())
	certPEM, _, err := a.IssueClient(csr(t, key), "dev-7")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	clientCert := tls.Certificate{Certificate: [][]byte{block.Bytes}, PrivateKey: key}

	// A client certificate from a CA the server does not trust.
	other := loadOrCreate(t, t.TempDir(), "localhost")
	otherKey := ecKey(t, elliptic.P256())
	otherPEM, _, err := other.IssueClient(csr(t, otherKey), "dev-7")
	if err != nil {
		t.Fatal(err)
	}
	otherBlock, _ := pem.Decode(otherPEM)
	foreignCert := tls.Certificate{Certificate: [][]byte{otherBlock.Bytes}, PrivateKey: otherKey}

	tests := []struct {
		name       string
		certs      []tls.Certificate
		wantChains bool
		wantErr    bool
	}{
		{name: "with the issued certificate", certs: []tls.Certificate{clientCert}, wantChains: true},
		{name: "without a certificate", certs: nil},
		{name: "with a foreign certificate", certs: []tls.Certificate{foreignCert}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			state, err := handshake(t, a.ServerTLS(), &tls.Config{
				RootCAs: a.Pool(), ServerName: "localhost", Certificates: tt.certs, NextProtos: []string{"h2"},
			})
			if tt.wantErr {
				if err == nil {
					t.Fatal("handshake succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if state.Version != tls.VersionTLS13 {
				t.Errorf("TLS version %x, want 1.3", state.Version)
			}
			if state.NegotiatedProtocol != "h2" {
				t.Errorf("ALPN %q, want h2", state.NegotiatedProtocol)
			}
			if got := len(state.VerifiedChains) > 0; got != tt.wantChains {
				t.Fatalf("server has verified chains: %v, want %v", got, tt.wantChains)
			}
			if tt.wantChains && state.VerifiedChains[0][0].Subject.CommonName != "dev-7" {
				t.Errorf("peer CN = %q", state.VerifiedChains[0][0].Subject.CommonName)
			}
		})
	}

	// A client that trusts nothing but the system roots refuses the server.
	_, err = handshake(t, a.ServerTLS(), &tls.Config{ServerName: "localhost", RootCAs: x509.NewCertPool()})
	if err == nil {
		t.Error("client without the CA accepted the server")
	}
	// TLS 1.2 is refused on the gRPC listener.
	_, err = handshake(t, a.ServerTLS(), &tls.Config{RootCAs: a.Pool(), ServerName: "localhost", MaxVersion: tls.VersionTLS12})
	if err == nil {
		t.Error("TLS 1.2 client accepted")
	}
	// The dashboard listener serves the same certificate.
	if _, err := handshake(t, a.HTTPSTLS(), &tls.Config{RootCAs: a.Pool(), ServerName: "127.0.0.1"}); err != nil {
		t.Errorf("HTTPS handshake: %v", err)
	}
}

// handshake runs one TLS handshake over loopback and returns the server's
// view of the connection, or the first error of either side.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		state tls.ConnectionState
		err   error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer conn.Close()
		tc := tls.Server(conn, serverCfg)
		err = tc.HandshakeContext(ctx)
		if err == nil {
			// In TLS 1.3 the server learns of a refused client
			// certificate only when the client answers; read to see it.
			_, err = tc.Read(make([]byte, 1))
		}
		done <- result{state: tc.ConnectionState(), err: err}
	}()
	d := tls.Dialer{Config: clientCfg}
	conn, cerr := d.DialContext(ctx, "tcp", ln.Addr().String())
	if cerr == nil {
		_, cerr = conn.Write([]byte{1})
		conn.Close()
	}
	r := <-done
	if cerr != nil {
		return r.state, cerr
	}
	return r.state, r.err
}
