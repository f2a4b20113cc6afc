// Package uplink connects the agent to the server: enrollment (a CSR from a
// key generated on the device, authorised by the enrollment secret), then
// the long-lived mTLS stream with reconnect and backoff.
package uplink

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/vcguard/vcguard/agent/fsperm"
	"github.com/vcguard/vcguard/internal/atomicfile"
	"os"
	"path/filepath"
	"strings"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// Files in the agent's state directory.
const (
	keyFile       = "client-key.pem"
	certFile      = "client.pem"
	caFile        = "ca.pem"
	identityFile  = "identity.json"
	policyKeyFile = "policy-key.pub"
)

// Identity is what enrollment leaves in the state directory.
type Identity struct {
	DeviceID string    `json:"device_id"`
	Server   string    `json:"server"`
	Enrolled time.Time `json:"enrolled"`
	// Group is the device group the server assigned (from the enrollment
	// secret); "" for none.
	Group string `json:"group,omitempty"`
	// PolicyKey is the pinned Ed25519 key that signs policies.
	PolicyKey []byte `json:"-"`
}

// ErrNotEnrolled is returned by LoadIdentity for a state directory without
// an enrollment.
var ErrNotEnrolled = errors.New("the agent is not enrolled")

// LoadIdentity reads the enrollment from stateDir.
func LoadIdentity(stateDir string) (*Identity, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, identityFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotEnrolled
	}
	if err != nil {
		return nil, fmt.Errorf("read identity: %w", err)
	}
	var id Identity
	if err := json.Unmarshal(data, &id); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(stateDir, identityFile), err)
	}
	key, err := os.ReadFile(filepath.Join(stateDir, policyKeyFile))
	if err != nil {
		return nil, fmt.Errorf("read pinned policy key: %w", err)
	}
	id.PolicyKey = key
	return &id, nil
}

// EnrollConfig says where and how to enroll.
type EnrollConfig struct {
	Server     string
	SecretFile string
	CAFile     string
	StateDir   string
	Device     *vcguardv1.DeviceInfo
}

// EnrollError is a refusal that retrying will not fix.
type EnrollError struct{ Msg string }

func (e *EnrollError) Error() string { return e.Msg }

// Enroll enrolls the device and writes key, certificate, CA, pinned policy
// key and identity into the state directory. The private key is generated
// here and never sent anywhere.
func Enroll(ctx context.Context, cfg EnrollConfig) (*Identity, error) {
	secretBytes, err := os.ReadFile(cfg.SecretFile)
	if err != nil {
		return nil, &EnrollError{Msg: fmt.Sprintf("read the enrollment secret: %v", err)}
	}
	secret := strings.TrimSpace(string(secretBytes))
	if secret == "" {
		return nil, &EnrollError{Msg: fmt.Sprintf("the enrollment secret file %s is empty", cfg.SecretFile)}
	}
	caPEM, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, &EnrollError{Msg: fmt.Sprintf("read the server CA: %v", err)}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, &EnrollError{Msg: fmt.Sprintf("the CA file %s holds no PEM certificate", cfg.CAFile)}
	}
	if err := fsperm.Protect(cfg.StateDir, false); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate device key: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cfg.Device.GetHostname()},
	}, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate signing request: %w", err)
	}

	conn, err := grpc.NewClient(cfg.Server, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: serverName(cfg.Server),
	})))
	if err != nil {
		return nil, &EnrollError{Msg: fmt.Sprintf("server address %q: %v", cfg.Server, err)}
	}
	defer conn.Close()
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := vcguardv1.NewAgentServiceClient(conn).Enroll(callCtx, &vcguardv1.EnrollRequest{
		EnrollSecret: secret, CsrDer: csr, Device: cfg.Device,
	})
	if err != nil {
		return nil, explainEnrollError(cfg, err)
	}

	cert, err := parseCert(resp.GetClientCertPem())
	if err != nil {
		return nil, fmt.Errorf("the server's certificate: %w", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("the issued certificate does not chain to %s: %w", cfg.CAFile, err)
	}
	if !cert.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
		return nil, errors.New("the issued certificate is not for this device's key")
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	id := &Identity{DeviceID: resp.GetDeviceId(), Server: cfg.Server, Enrolled: time.Now().UTC(), Group: resp.GetGroup(), PolicyKey: resp.GetPolicyPublicKey()}
	idJSON, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return nil, err
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600},
		{certFile, resp.GetClientCertPem(), 0o644},
		{caFile, caPEM, 0o644},
		{policyKeyFile, resp.GetPolicyPublicKey(), 0o644},
		{identityFile, idJSON, 0o644}, // last: its presence means enrolled
	}
	for _, f := range files {
		if err := atomicfile.WriteFile(filepath.Join(cfg.StateDir, f.name), f.data, f.mode); err != nil {
			return nil, err
		}
	}
	return id, nil
}

func parseCert(pemBytes []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE PEM block")
	}
	return x509.ParseCertificate(block.Bytes)
}

// serverName is the host part of addr, for certificate verification.
func serverName(addr string) string {
	host := addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		host = addr[:i]
	}
	return strings.Trim(host, "[]")
}

// explainEnrollError turns an RPC failure into a message that says what to
// fix. Refusals become *EnrollError; transport problems stay retryable.
func explainEnrollError(cfg EnrollConfig, err error) error {
	st, _ := status.FromError(err)
	msg := st.Message()
	switch {
	case st.Code() == codes.PermissionDenied:
		return &EnrollError{Msg: fmt.Sprintf("the server at %s refused the enrollment secret from %s: %s", cfg.Server, cfg.SecretFile, msg)}
	case st.Code() == codes.InvalidArgument:
		return &EnrollError{Msg: fmt.Sprintf("the server at %s refused the enrollment request: %s", cfg.Server, msg)}
	case strings.Contains(msg, "certificate signed by unknown authority") || strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:"):
		return &EnrollError{Msg: fmt.Sprintf("the server at %s is not trusted: its TLS certificate does not verify against the CA in %s (wrong --ca-file, or not the vcguard server): %s", cfg.Server, cfg.CAFile, msg)}
	}
	return fmt.Errorf("enroll at %s: %w", cfg.Server, err)
}
