package uplink

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ParseFingerprint checks a SHA-256 certificate fingerprint written as hex,
// with or without colons or spaces between the bytes (as openssl x509
// -fingerprint -sha256 prints it), and returns it as 64 lower-case hex
// digits.
func ParseFingerprint(s string) (string, error) {
	clean := strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(s))
	clean = strings.TrimPrefix(strings.ToLower(clean), "sha256=")
	b, err := hex.DecodeString(clean)
	if err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("%q is not a SHA-256 fingerprint: want 64 hex digits (colons allowed), as `openssl x509 -noout -fingerprint -sha256 -in ca.pem` prints it", s)
	}
	return clean, nil
}

// Fingerprint is the SHA-256 of a certificate's DER, as 64 lower-case hex
// digits.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// errFingerprint is a server chain that does not hold the pinned CA.
var errFingerprint = errors.New("no CA certificate in the server's chain has the configured fingerprint")

// verifyByFingerprint finds the CA certificate with fingerprint fp (from
// ParseFingerprint) in the chain a server presented, leaf first, and
// verifies the leaf for host against it. It returns that CA.
func verifyByFingerprint(chain []*x509.Certificate, fp, host string) (*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, errors.New("the server presented no certificate")
	}
	var ca *x509.Certificate
	var seen []string
	for _, c := range chain {
		seen = append(seen, fmt.Sprintf("%q %s", c.Subject.CommonName, Fingerprint(c)))
		if Fingerprint(c) == fp {
			ca = c
		}
	}
	if ca == nil {
		return nil, fmt.Errorf("%w: want %s, the server sent %s", errFingerprint, fp, strings.Join(seen, ", "))
	}
	if !ca.BasicConstraintsValid || !ca.IsCA {
		return nil, fmt.Errorf("the certificate with fingerprint %s (%q) is not a CA: pin the CA's fingerprint, not the server's own certificate", fp, ca.Subject.CommonName)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return nil, fmt.Errorf("the server's certificate does not verify against the CA with fingerprint %s: %w", fp, err)
	}
	return ca, nil
}

// checkPEMFingerprint checks that caPEM holds a certificate with
// fingerprint fp, when one is given, so that a CA file and a fingerprint
// that both name the CA cannot disagree.
func checkPEMFingerprint(caPEM []byte, fp string) error {
	rest := caPEM
	var seen []string
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		if Fingerprint(c) == fp {
			return nil
		}
		seen = append(seen, Fingerprint(c))
	}
	return fmt.Errorf("the CA certificate does not have the configured fingerprint %s (it has %s): the CA and the fingerprint name different CAs", fp, strings.Join(seen, ", "))
}

func encodeCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
