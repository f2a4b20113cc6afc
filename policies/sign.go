package policies

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
)

// signatureContext separates policy signatures from anything else the key
// might ever sign.
const signatureContext = "vcguard policy signature v1\x00"

// SignedPayload is the byte string an Ed25519 policy signature covers: a
// context string, the version (so a document cannot be replayed under
// another version number) and the document.
func SignedPayload(version uint64, document []byte) []byte {
	b := make([]byte, 0, len(signatureContext)+8+len(document))
	b = append(b, signatureContext...)
	b = binary.BigEndian.AppendUint64(b, version)
	return append(b, document...)
}

// SignPolicy signs a policy version with the server's key.
func SignPolicy(key ed25519.PrivateKey, version uint64, document []byte) []byte {
	return ed25519.Sign(key, SignedPayload(version, document))
}

// ErrBadSignature is returned when a policy's signature does not verify.
var ErrBadSignature = errors.New("policy signature does not verify with the pinned key")

// VerifyPolicy checks a policy signature against the pinned public key.
func VerifyPolicy(pub ed25519.PublicKey, version uint64, document, signature []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("pinned policy key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if !ed25519.Verify(pub, SignedPayload(version, document), signature) {
		return ErrBadSignature
	}
	return nil
}
