// Package keyring keeps the keys every server replica must share, the
// certificate authority and the policy-signing key, in the database, so
// that replicas on one PostgreSQL database issue and trust the same
// certificates and sign policies with the same key. The first replica to
// start creates them; replicas starting at the same time race safely (one
// insert wins, every replica reads back the winner).
//
// Private keys are sealed with AES-256-GCM under a key-encryption key
// (KEK) when one is given (--kek-file): then a copy of the database alone
// does not give away the CA. Without a KEK they are stored in the clear
// and the database must be protected like the keys themselves (the SQLite
// file is 0600; restrict PostgreSQL access and backups accordingly).
package keyring

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vcguard/vcguard/internal/atomicfile"
	"github.com/vcguard/vcguard/server/pki"
	"github.com/vcguard/vcguard/server/store"
)

// Files of an installation from before the keys moved into the database;
// they are imported on the first start of the new version.
const (
	legacyCAKeyFile     = "ca-key.pem"
	legacyPolicyKeyFile = "policy-key.pem"
)

// sealedBlock is the PEM type of a private key sealed with the KEK.
const sealedBlock = "VCGUARD SEALED PRIVATE KEY"

// minKEKSize is the least key material a KEK file must hold.
const minKEKSize = 32

// Keyring loads and creates the shared keys.
type Keyring struct {
	Store *store.Store
	// KEK is the key-encryption key (32 bytes, from LoadKEK); nil stores
	// private keys in the clear.
	KEK    []byte
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// LoadKEK reads a key-encryption key file: at least 32 bytes of secret
// material (e.g. `head -c 32 /dev/urandom | base64 > kek`), from which the
// 256-bit key is derived with HKDF-SHA256. Every replica must use the same
// file. On Unix it must be readable by its owner only (mode 0600). On
// Windows, where access is governed by the file's ACL rather than a mode,
// it is not checked: keeping the ACL to the service account and
// Administrators is the admin's job.
func LoadKEK(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--kek-file: %w", err)
	}
	if err := checkKEKPrivate(path, info); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--kek-file: %w", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) < minKEKSize {
		return nil, fmt.Errorf("--kek-file %s: holds %d bytes, at least %d are needed (e.g. head -c 32 /dev/urandom | base64 > %s)",
			path, len(data), minKEKSize, path)
	}
	return hkdf.Key(sha256.New, data, nil, "vcguard key-encryption key v1", 32)
}

func (k *Keyring) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// CA returns the shared CA certificate and private key (PEM), creating it
// on first start (or importing ca.pem and ca-key.pem from dataDir, where
// an earlier version kept them). The CA certificate is written to
// dataDir/ca.pem for agents' --ca-file and for browsers.
func (k *Keyring) CA(ctx context.Context, dataDir string) (certPEM, keyPEM []byte, err error) {
	stored, err := k.Store.ServerKey(ctx, store.ServerKeyCA)
	if errors.Is(err, store.ErrNotFound) {
		candidate := store.ServerKey{Name: store.ServerKeyCA, Created: k.now()}
		var plainKey []byte
		oldCert, errCert := os.ReadFile(filepath.Join(dataDir, pki.CAFile))
		oldKey, errKey := os.ReadFile(filepath.Join(dataDir, legacyCAKeyFile))
		if errCert == nil && errKey == nil {
			k.Logger.Info("importing the CA from the data directory into the database", "dir", dataDir)
			candidate.Certificate, plainKey = oldCert, oldKey
		} else if candidate.Certificate, plainKey, err = pki.GenerateCA(k.now()); err != nil {
			return nil, nil, err
		}
		if candidate.PrivateKey, err = k.seal(store.ServerKeyCA, plainKey); err != nil {
			return nil, nil, err
		}
		stored, err = k.Store.AddServerKey(ctx, candidate)
	}
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = k.open(ctx, stored)
	if err != nil {
		return nil, nil, err
	}
	if old, err := os.ReadFile(filepath.Join(dataDir, pki.CAFile)); err != nil || !bytes.Equal(old, stored.Certificate) {
		if err == nil {
			k.Logger.Warn("the CA in the data directory differs from the one in the database; the database's is used and written there",
				"file", filepath.Join(dataDir, pki.CAFile))
		}
		if err := atomicfile.WriteFile(filepath.Join(dataDir, pki.CAFile), stored.Certificate, 0o644); err != nil {
			return nil, nil, err
		}
	}
	return stored.Certificate, keyPEM, nil
}

// PolicyKey returns the shared Ed25519 policy-signing key, creating it on
// first start (or importing dataDir/policy-key.pem).
func (k *Keyring) PolicyKey(ctx context.Context, dataDir string) (ed25519.PrivateKey, error) {
	stored, err := k.Store.ServerKey(ctx, store.ServerKeyPolicy)
	if errors.Is(err, store.ErrNotFound) {
		candidate := store.ServerKey{Name: store.ServerKeyPolicy, Certificate: []byte{}, Created: k.now()}
		plain, err := os.ReadFile(filepath.Join(dataDir, legacyPolicyKeyFile))
		if err == nil {
			k.Logger.Info("importing the policy key from the data directory into the database", "dir", dataDir)
		} else {
			_, key, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return nil, fmt.Errorf("generate policy key: %w", err)
			}
			der, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				return nil, fmt.Errorf("encode policy key: %w", err)
			}
			plain = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		}
		if candidate.PrivateKey, err = k.seal(store.ServerKeyPolicy, plain); err != nil {
			return nil, err
		}
		stored, err = k.Store.AddServerKey(ctx, candidate)
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	plain, err := k.open(ctx, stored)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(plain)
	if block == nil {
		return nil, errors.New("policy key in the database: no PEM block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("policy key in the database: %w", err)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("policy key in the database: key type %T, want Ed25519", parsed)
	}
	return key, nil
}

// seal encrypts a PEM private key under the KEK; without one it is kept as
// is.
func (k *Keyring) seal(name string, plainPEM []byte) ([]byte, error) {
	if k.KEK == nil {
		return plainPEM, nil
	}
	aead, err := k.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	sealed := aead.Seal(nonce, nonce, plainPEM, []byte("vcguard server key "+name))
	return pem.EncodeToMemory(&pem.Block{Type: sealedBlock, Headers: map[string]string{"Cipher": "AES-256-GCM"}, Bytes: sealed}), nil
}

// open returns the PEM private key of a stored key. A key stored in the
// clear is sealed in place when a KEK is now given.
func (k *Keyring) open(ctx context.Context, stored store.ServerKey) ([]byte, error) {
	block, _ := pem.Decode(stored.PrivateKey)
	if block == nil {
		return nil, fmt.Errorf("%s key in the database: no PEM block", stored.Name)
	}
	if block.Type != sealedBlock {
		if k.KEK != nil {
			sealed, err := k.seal(stored.Name, stored.PrivateKey)
			if err != nil {
				return nil, err
			}
			if ok, err := k.Store.ReplaceServerKeyPrivate(ctx, stored.Name, stored.PrivateKey, sealed); err != nil {
				return nil, err
			} else if ok {
				k.Logger.Info("sealed a server key in the database with the key-encryption key", "key", stored.Name)
			}
		} else if k.Store.Shared() {
			// The SQLite file is 0600 in the data directory, as the
			// key files were; a shared database deserves the warning.
			k.Logger.Warn("server key stored unencrypted in the database: protect the database like the key, or start with --kek-file", "key", stored.Name)
		}
		return stored.PrivateKey, nil
	}
	if k.KEK == nil {
		return nil, fmt.Errorf("the %s key in the database is sealed with a key-encryption key: start the server with --kek-file (the same file as the other replicas)", stored.Name)
	}
	aead, err := k.aead()
	if err != nil {
		return nil, err
	}
	if len(block.Bytes) < aead.NonceSize() {
		return nil, fmt.Errorf("%s key in the database: sealed data too short", stored.Name)
	}
	nonce, ct := block.Bytes[:aead.NonceSize()], block.Bytes[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ct, []byte("vcguard server key "+stored.Name))
	if err != nil {
		return nil, fmt.Errorf("the %s key in the database does not open with --kek-file: is it the file the other replicas use?", stored.Name)
	}
	return plain, nil
}

func (k *Keyring) aead() (cipher.AEAD, error) {
	blockCipher, err := aes.NewCipher(k.KEK)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	return cipher.NewGCM(blockCipher)
}
