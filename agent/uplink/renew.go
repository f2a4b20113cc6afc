package uplink

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vcguard/vcguard/internal/atomicfile"
	"path/filepath"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Client certificates are short-lived (30 days by default) and renewed by
// the agent over mTLS with the certificate it still holds. The agent keeps
// its private key: the key never leaves the device, and a thief holding key
// and certificate could renew with a key of his own anyway, so rotating it
// buys little, while keeping it lets the renewed certificate replace the
// old one in a single atomic rename (no window where key and certificate
// on disk do not match).

// NeedsRenewal reports whether cert should be renewed at now: when less
// than a third of its lifetime remains.
func NeedsRenewal(cert *x509.Certificate, now time.Time) bool {
	lifetime := cert.NotAfter.Sub(cert.NotBefore)
	return cert.NotAfter.Sub(now) < lifetime/3
}

// renewCheckInterval is how often the renewal decision is taken again for
// cert: daily, or more often for certificates shorter than six days.
func renewCheckInterval(cert *x509.Certificate) time.Duration {
	return min(max(cert.NotAfter.Sub(cert.NotBefore)/6, time.Second), 24*time.Hour)
}

// renewRetry is the wait after a failed renewal.
func renewRetry(cert *x509.Certificate) time.Duration {
	return min(renewCheckInterval(cert), time.Minute)
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// renewLoop decides at start and then periodically whether to renew.
func (c *Client) renewLoop(ctx context.Context, api vcguardv1.AgentServiceClient) {
	for {
		wait := c.maybeRenew(ctx, api)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// maybeRenew renews the certificate when it is due and returns when to
// check again.
func (c *Client) maybeRenew(ctx context.Context, api vcguardv1.AgentServiceClient) time.Duration {
	pair := c.cert.Load()
	leaf := pair.Leaf
	now := c.now()
	if !NeedsRenewal(leaf, now) {
		return renewCheckInterval(leaf)
	}
	if now.After(leaf.NotAfter) {
		c.Logger.Error("the device certificate has expired and can no longer be renewed; enroll the agent again "+
			"(remove the state directory's identity.json and restart with an enrollment secret)", "expired", leaf.NotAfter)
		return renewCheckInterval(leaf)
	}
	renewed, group, err := c.renew(ctx, api, pair)
	if err != nil {
		if status.Code(err) == codes.PermissionDenied {
			c.Logger.Error("the server refused to renew the device certificate", "err", status.Convert(err).Message())
			return revokedBackoff(c.RevokedBackoff)
		}
		if ctx.Err() == nil {
			c.Logger.Warn("renew the device certificate; retrying", "err", err, "expires", leaf.NotAfter)
		}
		return renewRetry(leaf)
	}
	c.cert.Store(renewed)
	c.Logger.Info("device certificate renewed", "not_after", renewed.Leaf.NotAfter)
	c.setGroup(group)
	return renewCheckInterval(renewed.Leaf)
}

// renew asks for a certificate for the current key, checks it and stores
// it atomically.
func (c *Client) renew(ctx context.Context, api vcguardv1.AgentServiceClient, pair *tls.Certificate) (*tls.Certificate, string, error) {
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, "", fmt.Errorf("device key of type %T cannot sign", pair.PrivateKey)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: c.Identity.DeviceID},
	}, signer)
	if err != nil {
		return nil, "", fmt.Errorf("create certificate signing request: %w", err)
	}
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := api.Renew(callCtx, &vcguardv1.RenewRequest{CsrDer: csr})
	if err != nil {
		return nil, "", err
	}
	certPEM := resp.GetClientCertPem()
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, "", fmt.Errorf("the renewed certificate: %w", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: c.roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: c.now()}); err != nil {
		return nil, "", fmt.Errorf("the renewed certificate does not chain to the pinned CA: %w", err)
	}
	if pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(signer.Public()) {
		return nil, "", errors.New("the renewed certificate is not for this device's key")
	}
	if cert.Subject.CommonName != c.Identity.DeviceID {
		return nil, "", fmt.Errorf("the renewed certificate names device %q, not %q", cert.Subject.CommonName, c.Identity.DeviceID)
	}
	if err := atomicfile.WriteFile(filepath.Join(c.StateDir, certFile), certPEM, 0o600); err != nil {
		return nil, "", err
	}
	renewed := &tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: pair.PrivateKey, Leaf: cert}
	return renewed, resp.GetGroup(), nil
}

func writeIdentity(stateDir string, id *Identity) error {
	data, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(stateDir, identityFile), data, 0o644)
}

// revokedBackoff is the wait after the server refused the device.
func revokedBackoff(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return time.Hour
}

// loadCertificate reads the device's key pair.
func loadCertificate(stateDir string) (*tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(stateDir, certFile), filepath.Join(stateDir, keyFile))
	if err != nil {
		return nil, fmt.Errorf("load device certificate: %w", err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("load device certificate: %w", err)
		}
	}
	return &pair, nil
}
