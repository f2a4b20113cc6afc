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
	"github.com/vcguard/vcguard/agent/statedir"
	"github.com/vcguard/vcguard/internal/atomicfile"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// Files in the agent's state directory (agent/statedir names them all).
var (
	keyFile       = statedir.ClientKey.Name
	certFile      = statedir.ClientCert.Name
	caFile        = statedir.CA.Name
	identityFile  = statedir.Identity.Name
	policyKeyFile = statedir.PolicyKey.Name
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
	Server string
	// Secret is the enrollment secret itself (macOS managed preferences);
	// SecretSource names where it came from, for messages. Without it the
	// secret is read from SecretFile, or else from the state directory's
	// SecretFile (see StoreSecret).
	Secret       string
	SecretSource string
	SecretFile   string
	// The server's CA: CAPEM (managed), or else CAFile. With neither,
	// CAFingerprint (from ParseFingerprint) picks the CA from the chain the
	// server presents; with one of them, the CA must have it.
	CAFile        string
	CAPEM         []byte
	CAFingerprint string
	// Group is the device group asked for; the server refuses it unless
	// the enrollment secret grants it.
	Group    string
	StateDir string
	Device   *vcguardv1.DeviceInfo
}

// caSource names the configured CA for messages.
func (cfg EnrollConfig) caSource() string {
	switch {
	case len(cfg.CAPEM) > 0:
		return "the managed CA certificate"
	case cfg.CAFile != "":
		return cfg.CAFile
	default:
		return "the CA with fingerprint " + cfg.CAFingerprint
	}
}

// EnrollError is a refusal that retrying will not fix.
type EnrollError struct{ Msg string }

func (e *EnrollError) Error() string { return e.Msg }

// Enroll enrolls the device and writes key, certificate, CA, pinned policy
// key and identity into the state directory. The private key is generated
// here and never sent anywhere. After a successful enrollment the stored
// enrollment secret (StoreSecret) is deleted.
func Enroll(ctx context.Context, cfg EnrollConfig) (*Identity, error) {
	secret, secretFrom, err := readSecret(cfg)
	if err != nil {
		return nil, err
	}
	caPEM := cfg.CAPEM
	caFrom := cfg.caSource()
	if len(caPEM) == 0 && cfg.CAFile != "" {
		if caPEM, err = os.ReadFile(cfg.CAFile); err != nil {
			return nil, &EnrollError{Msg: fmt.Sprintf("read the server CA: %v", err)}
		}
	}
	var pool *x509.CertPool
	var pinned pinnedCA
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS13, ServerName: serverName(cfg.Server)}
	switch {
	case len(caPEM) > 0:
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, &EnrollError{Msg: fmt.Sprintf("%s holds no PEM certificate", caFrom)}
		}
		if cfg.CAFingerprint != "" {
			if err := checkPEMFingerprint(caPEM, cfg.CAFingerprint); err != nil {
				return nil, &EnrollError{Msg: fmt.Sprintf("%s: %v", caFrom, err)}
			}
		}
		tlsConf.RootCAs = pool
	case cfg.CAFingerprint != "":
		// No CA yet: the handshake verifies the chain against the
		// certificate in it with the pinned fingerprint, and nothing (the
		// secret least of all) is sent before that succeeded.
		tlsConf.InsecureSkipVerify = true
		tlsConf.VerifyConnection = func(cs tls.ConnectionState) error {
			ca, err := verifyByFingerprint(cs.PeerCertificates, cfg.CAFingerprint, serverName(cfg.Server))
			pinned.set(ca, err)
			return err
		}
	default:
		return nil, &EnrollError{Msg: "no server CA: give --ca-file FILE or --ca-fingerprint SHA256"}
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

	conn, err := grpc.NewClient(cfg.Server, grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)))
	if err != nil {
		return nil, &EnrollError{Msg: fmt.Sprintf("server address %q: %v", cfg.Server, err)}
	}
	defer conn.Close()
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := vcguardv1.NewAgentServiceClient(conn).Enroll(callCtx, &vcguardv1.EnrollRequest{
		EnrollSecret: secret, CsrDer: csr, Device: cfg.Device, DeviceGroup: cfg.Group,
	})
	if err != nil {
		if _, perr := pinned.get(); perr != nil {
			return nil, &EnrollError{Msg: fmt.Sprintf("the server at %s is not trusted (--ca-fingerprint): %v; compare with the CA's fingerprint on the server (openssl x509 -noout -fingerprint -sha256 -in DATA/ca.pem), or this is not your vcguard server", cfg.Server, perr)}
		}
		return nil, explainEnrollError(cfg, secretFrom, caFrom, err)
	}
	if pool == nil {
		ca, perr := pinned.get()
		if ca == nil || perr != nil {
			return nil, fmt.Errorf("enroll at %s: the server's CA was not pinned", cfg.Server)
		}
		pool = x509.NewCertPool()
		pool.AddCert(ca)
		caPEM = encodeCert(ca)
	}

	cert, err := parseCert(resp.GetClientCertPem())
	if err != nil {
		return nil, fmt.Errorf("the server's certificate: %w", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("the issued certificate does not chain to %s: %w", caFrom, err)
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
	// Enrolled: the secret is of no more use on this device.
	if err := RemoveSecret(cfg.StateDir); err != nil {
		return id, err
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
func explainEnrollError(cfg EnrollConfig, secretFrom, caFrom string, err error) error {
	st, _ := status.FromError(err)
	msg := st.Message()
	switch {
	case st.Code() == codes.PermissionDenied:
		return &EnrollError{Msg: fmt.Sprintf("the server at %s refused the enrollment secret from %s: %s", cfg.Server, secretFrom, msg)}
	case st.Code() == codes.InvalidArgument:
		return &EnrollError{Msg: fmt.Sprintf("the server at %s refused the enrollment request: %s", cfg.Server, msg)}
	case strings.Contains(msg, "certificate signed by unknown authority") || strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:"):
		return &EnrollError{Msg: fmt.Sprintf("the server at %s is not trusted: its TLS certificate does not verify against %s (wrong --ca-file, or not the vcguard server): %s", cfg.Server, caFrom, msg)}
	}
	return fmt.Errorf("enroll at %s: %w", cfg.Server, err)
}

// pinnedCA is what the fingerprint check of the last handshake found.
type pinnedCA struct {
	mu  sync.Mutex
	ca  *x509.Certificate
	err error
}

func (p *pinnedCA) set(ca *x509.Certificate, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ca, p.err = ca, err
}

func (p *pinnedCA) get() (*x509.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ca, p.err
}
