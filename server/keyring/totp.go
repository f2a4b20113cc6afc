package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/vcguard/vcguard/server/store"
)

// totpSealVersion follows store.SealedPrefix in a sealed TOTP secret.
const totpSealVersion = "v1:"

// TOTPSealer seals the accounts' TOTP secrets under the key-encryption key
// (AES-256-GCM with a key of its own derived from the KEK, the account
// bound in as associated data), so that a copy of the database does not
// give away the second factor of every administrator. It returns nil for
// no KEK: the secrets are then stored as they are.
func TOTPSealer(kek []byte) (store.SecretSealer, error) {
	if kek == nil {
		return nil, nil
	}
	key, err := hkdf.Key(sha256.New, kek, nil, "vcguard totp secrets", 32)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return totpSealer{aead}, nil
}

type totpSealer struct{ aead cipher.AEAD }

func (t totpSealer) Seal(plaintext, context string) (string, error) {
	nonce := make([]byte, t.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := t.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return store.SealedPrefix + totpSealVersion + base64.RawURLEncoding.EncodeToString(sealed), nil
}

var errNotSealed = errors.New("not a sealed TOTP secret of this version")

func (t totpSealer) Open(sealed, context string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, store.SealedPrefix+totpSealVersion)
	if !ok {
		return "", errNotSealed
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) < t.aead.NonceSize() {
		return "", errNotSealed
	}
	plain, err := t.aead.Open(nil, b[:t.aead.NonceSize()], b[t.aead.NonceSize():], []byte(context))
	if err != nil {
		return "", errors.New("the sealed TOTP secret does not open with this key (another --kek-file, or another account's value)")
	}
	return string(plain), nil
}
