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
	return signedPayload(signatureContext, version, document)
}

// signedPayload is what a signature with the given context covers: the
// context, the version (so a document cannot be replayed under another
// number) and the document. Policies and catalogs use it with their own
// contexts.
func signedPayload(context string, version uint64, document []byte) []byte {
	b := make([]byte, 0, len(context)+8+len(document))
	b = append(b, context...)
	b = binary.BigEndian.AppendUint64(b, version)
	return append(b, document...)
}

// verifySigned checks an Ed25519 signature of payload against the pinned
// public key; bad is the error for a signature that does not verify.
func verifySigned(pub ed25519.PublicKey, payload, signature []byte, bad error) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("pinned policy key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if !ed25519.Verify(pub, payload, signature) {
		return bad
	}
	return nil
}

// SignPolicy signs a policy version with the server's key.
func SignPolicy(key ed25519.PrivateKey, version uint64, document []byte) []byte {
	return ed25519.Sign(key, SignedPayload(version, document))
}

// ErrBadSignature is returned when a policy's signature does not verify.
var ErrBadSignature = errors.New("policy signature does not verify with the pinned key")

// VerifyPolicy checks a policy signature against the pinned public key.
func VerifyPolicy(pub ed25519.PublicKey, version uint64, document, signature []byte) error {
	return verifySigned(pub, SignedPayload(version, document), signature, ErrBadSignature)
}
