package policies_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
)

// testKey is a fixed key so failures reproduce.
func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("vcguard test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	key := testKey("server")
	pub := key.Public().(ed25519.PublicKey)
	doc := []byte(validPolicy)
	const version = 7
	sig := policies.SignPolicy(key, version, doc)
	if len(sig) != ed25519.SignatureSize {
		t.Fatalf("signature has %d bytes", len(sig))
	}
	if err := policies.VerifyPolicy(pub, version, doc, sig); err != nil {
		t.Fatalf("VerifyPolicy of a good signature: %v", err)
	}

	tampered := bytes.Replace(doc, []byte("status: forbidden"), []byte("status: approved"), 1)
	badSig := bytes.Clone(sig)
	badSig[0] ^= 1
	other := testKey("attacker")

	tests := []struct {
		name    string
		pub     ed25519.PublicKey
		version uint64
		doc     []byte
		sig     []byte
		wantErr error  // errors.Is target, or nil for a message check
		wantMsg string // substring
	}{
		{name: "tampered document", pub: pub, version: version, doc: tampered, sig: sig, wantErr: policies.ErrBadSignature},
		{name: "one byte appended", pub: pub, version: version, doc: append(bytes.Clone(doc), '\n'), sig: sig, wantErr: policies.ErrBadSignature},
		{name: "replayed under a newer version", pub: pub, version: version + 1, doc: doc, sig: sig, wantErr: policies.ErrBadSignature},
		{name: "replayed under an older version", pub: pub, version: version - 1, doc: doc, sig: sig, wantErr: policies.ErrBadSignature},
		{name: "replayed under version 0", pub: pub, version: 0, doc: doc, sig: sig, wantErr: policies.ErrBadSignature},
		{name: "flipped signature bit", pub: pub, version: version, doc: doc, sig: badSig, wantErr: policies.ErrBadSignature},
		{name: "short signature", pub: pub, version: version, doc: doc, sig: sig[:10], wantErr: policies.ErrBadSignature},
		{name: "no signature", pub: pub, version: version, doc: doc, sig: nil, wantErr: policies.ErrBadSignature},
		{name: "signed by another key", pub: pub, version: version, doc: doc, sig: policies.SignPolicy(other, version, doc), wantErr: policies.ErrBadSignature},
		{name: "other pinned key", pub: other.Public().(ed25519.PublicKey), version: version, doc: doc, sig: sig, wantErr: policies.ErrBadSignature},
		{name: "short key", pub: pub[:31], version: version, doc: doc, sig: sig, wantMsg: "pinned policy key has 31 bytes, want 32"},
		{name: "long key", pub: append(bytes.Clone(pub), 0), version: version, doc: doc, sig: sig, wantMsg: "has 33 bytes"},
		{name: "no key", pub: nil, version: version, doc: doc, sig: sig, wantMsg: "has 0 bytes"},
		{name: "private key as public key", pub: ed25519.PublicKey(key), version: version, doc: doc, sig: sig, wantMsg: "has 64 bytes"},
	}
	for _, tt := range tests {
		err := policies.VerifyPolicy(tt.pub, tt.version, tt.doc, tt.sig)
		if err == nil {
			t.Errorf("%s: VerifyPolicy accepted", tt.name)
			continue
		}
		if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.wantErr)
		}
		if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("%s: error %q does not contain %q", tt.name, err, tt.wantMsg)
		}
	}
}

func TestSignedPayload(t *testing.T) {
	t.Parallel()
	doc := []byte("name: x\n")
	p1 := policies.SignedPayload(1, doc)
	if !bytes.HasPrefix(p1, []byte("vcguard policy signature v1\x00")) {
		t.Errorf("payload %q lacks the context string", p1)
	}
	if !bytes.HasSuffix(p1, doc) {
		t.Errorf("payload %q does not end with the document", p1)
	}
	want := append([]byte("vcguard policy signature v1\x00"), 0, 0, 0, 0, 0, 0, 0, 1)
	want = append(want, doc...)
	if !bytes.Equal(p1, want) {
		t.Errorf("SignedPayload(1) = %q, want %q", p1, want)
	}
	// The version is fixed width, so version and document cannot trade
	// bytes.
	if bytes.Equal(policies.SignedPayload(0x0100, []byte("x")), policies.SignedPayload(0x01, []byte("\x00x"))) {
		t.Error("payloads of different versions collide")
	}
	// Signing is deterministic (Ed25519), so agent and server can compare.
	key := testKey("server")
	if !bytes.Equal(policies.SignPolicy(key, 3, doc), policies.SignPolicy(key, 3, doc)) {
		t.Error("SignPolicy is not deterministic")
	}
}
