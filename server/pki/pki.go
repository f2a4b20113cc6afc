// Package pki is the server's certificate authority: it creates the CA and
// the server certificate on first start and issues client certificates to
// enrolling agents from their certificate signing requests.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/vcguard/vcguard/internal/atomicfile"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names inside the data directory.
const (
	CAFile        = "ca.pem"
	caKeyFile     = "ca-key.pem"
	serverFile    = "server.pem"
	serverKeyFile = "server-key.pem"
)

// Lifetimes of what the CA issues.
const (
	caLifetime     = 10 * 365 * 24 * time.Hour
	serverLifetime = 365 * 24 * time.Hour
	// ClientLifetime is how long an agent certificate is valid unless
	// Options say otherwise; agents renew when a third of it remains.
	ClientLifetime = 30 * 24 * time.Hour
)

// Options tune an Authority; the zero value means the defaults.
type Options struct {
	// ClientLifetime is how long issued client certificates are valid;
	// 0 means ClientLifetime.
	ClientLifetime time.Duration
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Authority is a loaded CA with the server certificate it issued.
type Authority struct {
	caCert  *x509.Certificate
	caKey   crypto.Signer
	caPEM   []byte
	server  tls.Certificate
	pool    *x509.CertPool
	nowFunc func() time.Time
	// clientLifetime is the validity of issued client certificates.
	clientLifetime time.Duration
}

// LoadOrCreate loads the CA and server certificate from dir, creating what is
// missing. The server certificate is reissued when it lacks one of hosts or
// expires within 30 days. Private keys are written 0600.
func LoadOrCreate(dir string, hosts []string) (*Authority, error) {
	a := &Authority{nowFunc: time.Now, clientLifetime: ClientLifetime}
	if err := a.loadOrCreateCA(dir); err != nil {
		return nil, err
	}
	if err := a.loadOrCreateServer(dir, hosts); err != nil {
		return nil, err
	}
	a.pool = x509.NewCertPool()
	a.pool.AddCert(a.caCert)
	return a, nil
}

// New returns an Authority for a CA given as PEM (kept outside the data
// directory, e.g. in the database every replica shares) and loads or
// creates this server's own certificate in dir, issued by that CA. The
// server certificate is reissued when the CA changed, when it lacks one of
// hosts or expires within 30 days.
func New(caCertPEM, caKeyPEM []byte, dir string, hosts []string, opts Options) (*Authority, error) {
	a := &Authority{nowFunc: opts.Now, clientLifetime: opts.ClientLifetime}
	if a.nowFunc == nil {
		a.nowFunc = time.Now
	}
	if a.clientLifetime <= 0 {
		a.clientLifetime = ClientLifetime
	}
	cert, err := parseCertPEM("CA certificate", caCertPEM)
	if err != nil {
		return nil, err
	}
	key, err := parseKeyPEM("CA key", caKeyPEM)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, errors.New("the CA key does not belong to the CA certificate")
	}
	a.caCert, a.caKey, a.caPEM = cert, key, caCertPEM
	if err := a.loadOrCreateServer(dir, hosts); err != nil {
		return nil, err
	}
	a.pool = x509.NewCertPool()
	a.pool.AddCert(a.caCert)
	return a, nil
}

// GenerateCA creates a new CA valid from now: its certificate and its
// private key (PKCS#8), PEM encoded.
func GenerateCA(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "vcguard CA", Organization: []string{"vcguard"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode CA key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ak, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ak.Equal(b)
}

// ClientCertLifetime is how long the client certificates it issues are
// valid.
func (a *Authority) ClientCertLifetime() time.Duration { return a.clientLifetime }

func (a *Authority) loadOrCreateCA(dir string) error {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, caKeyFile)
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, os.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return fmt.Errorf("generate CA key: %w", err)
		}
		now := time.Now()
		tmpl := &x509.Certificate{
			SerialNumber:          randomSerial(),
			Subject:               pkix.Name{CommonName: "vcguard CA", Organization: []string{"vcguard"}},
			NotBefore:             now.Add(-time.Hour),
			NotAfter:              now.Add(caLifetime),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
			IsCA:                  true,
			MaxPathLenZero:        true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			return fmt.Errorf("create CA certificate: %w", err)
		}
		if err := writeKey(keyPath, key); err != nil {
			return err
		}
		certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		if err := atomicfile.WriteFile(certPath, certPEM, 0o644); err != nil {
			return fmt.Errorf("write CA certificate: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("read CA certificate: %w", err)
	}
	cert, err := parseCertPEM(certPath, certPEM)
	if err != nil {
		return err
	}
	key, err := readKey(keyPath)
	if err != nil {
		return err
	}
	a.caCert, a.caKey, a.caPEM = cert, key, certPEM
	return nil
}

func (a *Authority) loadOrCreateServer(dir string, hosts []string) error {
	certPath, keyPath := filepath.Join(dir, serverFile), filepath.Join(dir, serverKeyFile)
	if pair, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		if leaf := pair.Leaf; leaf != nil && covers(leaf, hosts) && time.Until(leaf.NotAfter) > 30*24*time.Hour &&
			leaf.CheckSignatureFrom(a.caCert) == nil {
			a.server = pair
			return nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate server key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "vcguard server", Organization: []string{"vcguard"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.caCert, key.Public(), a.caKey)
	if err != nil {
		return fmt.Errorf("create server certificate: %w", err)
	}
	if err := writeKey(keyPath, key); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("write server certificate: %w", err)
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return fmt.Errorf("load new server certificate: %w", err)
	}
	a.server = pair
	return nil
}

// covers reports whether the certificate names every host.
func covers(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(c.DNSNames, h) {
			return false
		}
	}
	return true
}

// CAPEM returns the CA certificate, PEM encoded.
func (a *Authority) CAPEM() []byte { return a.caPEM }

// Pool returns a pool holding only the CA.
func (a *Authority) Pool() *x509.CertPool { return a.pool }

// ServerTLS returns the TLS configuration of the gRPC listener: TLS 1.3,
// client certificates verified against the CA when given (Enroll is called
// without one; the agent API demands one on every other call).
//
// The server presents its certificate followed by the CA certificate, so
// that an agent enrolling with only the CA's fingerprint
// (--ca-fingerprint) finds the CA in the chain, checks its fingerprint and
// pins it; clients that already trust the CA are not affected.
func (a *Authority) ServerTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{a.chain()},
		ClientCAs:    a.pool,
		ClientAuth:   tls.VerifyClientCertIfGiven,
		NextProtos:   []string{"h2"},
	}
}

// chain is the server certificate with the CA certificate appended.
func (a *Authority) chain() tls.Certificate {
	c := a.server
	c.Certificate = append(append([][]byte(nil), a.server.Certificate...), a.caCert.Raw)
	return c
}

// HTTPSTLS returns the TLS configuration of the dashboard listener.
func (a *Authority) HTTPSTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{a.server},
	}
}

// IssueClient verifies a CSR and issues a client certificate whose common
// name is deviceID. It returns the certificate PEM and its serial number.
func (a *Authority) IssueClient(csrDER []byte, deviceID string) ([]byte, string, error) {
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, "", fmt.Errorf("parse certificate signing request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, "", fmt.Errorf("certificate signing request signature: %w", err)
	}
	switch pub := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() {
			return nil, "", errors.New("certificate signing request: ECDSA key must use P-256 or P-384")
		}
	default:
		return nil, "", fmt.Errorf("certificate signing request: key type %T is not accepted (want ECDSA)", pub)
	}
	now := a.nowFunc()
	serial := randomSerial()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: deviceID, Organization: []string{"vcguard agent"}},
		// Backdated for clocks a little behind, by at most a tenth of the
		// lifetime: agents renew when a third of NotAfter-NotBefore is left.
		NotBefore:   now.Add(-min(5*time.Minute, a.clientLifetime/10)),
		NotAfter:    now.Add(a.clientLifetime),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.caCert, csr.PublicKey, a.caKey)
	if err != nil {
		return nil, "", fmt.Errorf("issue client certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), serial.Text(16), nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	return nil
}

func readKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	return parseKeyPEM(path, data)
}

func parseKeyPEM(path string, data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: key type %T cannot sign", path, key)
	}
	return signer, nil
}

func parseCertPEM(path string, data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no CERTIFICATE PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cert, nil
}
