package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/vcguard/vcguard/internal/atomicfile"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// identity is one simulated agent's enrollment: its key and certificate
// (whose common name is the device id) and the pinned policy key.
type identity struct {
	DeviceID  string
	Cert      tls.Certificate
	PolicyKey ed25519.PublicKey
	// Reused is set when the identity came from the state directory.
	Reused bool
}

// policyKeyBlock is the PEM type the pinned policy key is kept under.
const policyKeyBlock = "VCGUARD POLICY PUBLIC KEY"

// identityPath is agent i's file in the state directory.
func identityPath(stateDir string, i int) string {
	return filepath.Join(stateDir, fmt.Sprintf("agent-%06d.pem", i))
}

// hostname is agent i's hostname: the same in every run, so a reused
// device keeps its name.
func hostname(i int) string { return fmt.Sprintf("loadgen-%06d", i) }

// encodeIdentity is the file form: the private key, the certificate and the
// policy key, PEM blocks one after the other.
func encodeIdentity(id *identity) ([]byte, error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(id.Cert.PrivateKey)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Cert.Certificate[0]})...)
	return append(out, pem.EncodeToMemory(&pem.Block{Type: policyKeyBlock, Bytes: id.PolicyKey})...), nil
}

// decodeIdentity reads the file form back and checks that the certificate
// chains to roots and stays valid for at least another hour at now.
func decodeIdentity(data []byte, roots *x509.CertPool, now time.Time) (*identity, error) {
	id := &identity{}
	var keyDER []byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY":
			keyDER = b.Bytes
		case "CERTIFICATE":
			id.Cert.Certificate = [][]byte{b.Bytes}
		case policyKeyBlock:
			id.PolicyKey = ed25519.PublicKey(b.Bytes)
		}
	}
	if keyDER == nil || id.Cert.Certificate == nil {
		return nil, errors.New("want a PRIVATE KEY and a CERTIFICATE block")
	}
	key, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	leaf, err := x509.ParseCertificate(id.Cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok || !ek.PublicKey.Equal(leaf.PublicKey) {
		return nil, errors.New("the certificate is not for the key")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now.Add(time.Hour),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("certificate (from another server, or expiring): %w", err)
	}
	id.Cert.PrivateKey, id.Cert.Leaf, id.DeviceID = ek, leaf, leaf.Subject.CommonName
	return id, nil
}

// loadIdentity returns agent i's cached identity, or nil when there is
// none usable (missing, for another server's CA, or about to expire).
func loadIdentity(stateDir string, i int, roots *x509.CertPool) *identity {
	data, err := os.ReadFile(identityPath(stateDir, i))
	if err != nil {
		return nil
	}
	id, err := decodeIdentity(data, roots, time.Now())
	if err != nil {
		return nil
	}
	id.Reused = true
	return id
}

// saveIdentity writes agent i's identity (it holds a private key: 0600).
func saveIdentity(stateDir string, i int, id *identity) error {
	data, err := encodeIdentity(id)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(identityPath(stateDir, i), data, 0o600)
}

// deviceInfo is what agent i reports about its machine.
func deviceInfo(i int) *vcguardv1.DeviceInfo {
	return &vcguardv1.DeviceInfo{Hostname: hostname(i), Os: "linux", OsVersion: "Debian 12", Arch: "amd64", AgentVersion: "loadgen"}
}

// enroll enrolls agent i as the agent does: a new P-256 key, a CSR, and
// Enroll with the enrollment secret over server-authenticated TLS on a
// connection of its own. A busy server (ResourceExhausted, Unavailable) is
// retried with a growing wait, each retry counted in retries.
func (s *sim) enroll(ctx context.Context, i int, retries func()) (*identity, error) {
	return s.enrollAs(ctx, sourceAddr(i, s.cfg.AgentsPerAddr), deviceInfo(i), retries)
}

// enrollAs is enroll for a device described by info, from source address
// src (nil: the kernel chooses).
func (s *sim) enrollAs(ctx context.Context, src net.IP, info *vcguardv1.DeviceInfo, retries func()) (*identity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: info.GetHostname()}}, key)
	if err != nil {
		return nil, err
	}
	wait := 250 * time.Millisecond
	for {
		resp, err := s.enrollOnce(ctx, src, info, s.secret, csr)
		if err == nil {
			cert, err := parseCertPEM(resp.GetClientCertPem())
			if err != nil {
				return nil, fmt.Errorf("the issued certificate: %w", err)
			}
			return &identity{DeviceID: resp.GetDeviceId(), PolicyKey: resp.GetPolicyPublicKey(),
				Cert: tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}}, nil
		}
		if c := status.Code(err); c != codes.ResourceExhausted && c != codes.Unavailable && c != codes.DeadlineExceeded {
			return nil, err
		}
		retries()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait/2 + mrand.N(wait/2+1)):
		}
		wait = min(wait*2, 10*time.Second)
	}
}

// enrollOnce makes one Enroll call on a connection of its own from src.
func (s *sim) enrollOnce(ctx context.Context, src net.IP, info *vcguardv1.DeviceInfo, secret string, csr []byte) (*vcguardv1.EnrollResponse, error) {
	conn, err := grpc.NewClient(s.cfg.Server, dialOptionsFrom(src, s.enrollTLS)...)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return vcguardv1.NewAgentServiceClient(conn).Enroll(callCtx, &vcguardv1.EnrollRequest{
		EnrollSecret: secret, CsrDer: csr, Device: info,
	})
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE PEM block")
	}
	return x509.ParseCertificate(b.Bytes)
}
