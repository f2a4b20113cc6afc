package keyring_test

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vcguard/vcguard/server/keyring"
	"github.com/vcguard/vcguard/server/pki"
	"github.com/vcguard/vcguard/server/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "vcguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func kekFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// Replicas starting at once on one database end up with one CA and one
// policy key, sealed with the KEK; the CA opens as a working Authority.
func TestSharedKeysSealed(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	kek, err := keyring.LoadKEK(kekFile(t, strings.Repeat("k", 44)))
	if err != nil {
		t.Fatal(err)
	}
	const replicas = 4
	var wg sync.WaitGroup
	certs, keys := make([][]byte, replicas), make([][]byte, replicas)
	pols := make([][]byte, replicas)
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() {
			k := &keyring.Keyring{Store: st, KEK: kek, Logger: discard}
			dir := t.TempDir()
			certs[i], keys[i], errs[i] = k.CA(t.Context(), dir)
			if errs[i] == nil {
				var pk []byte
				pk, errs[i] = k.PolicyKey(t.Context(), dir)
				pols[i] = pk
			}
		})
	}
	wg.Wait()
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if !bytes.Equal(certs[i], certs[0]) || !bytes.Equal(keys[i], keys[0]) || !bytes.Equal(pols[i], pols[0]) {
			t.Fatalf("replica %d got other keys than replica 0", i)
		}
	}
	if _, err := pki.New(certs[0], keys[0], t.TempDir(), []string{"localhost"}, pki.Options{}); err != nil {
		t.Fatalf("the shared CA does not load: %v", err)
	}
	stored, err := st.ServerKey(t.Context(), store.ServerKeyCA)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.PrivateKey, []byte("PRIVATE KEY-----\n")) && !bytes.Contains(stored.PrivateKey, []byte("SEALED")) {
		t.Error("the CA key is stored in the clear despite a KEK")
	}

	// Without the KEK, or with another one, the server refuses to start
	// and says why.
	_, _, err = (&keyring.Keyring{Store: st, Logger: discard}).CA(t.Context(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "--kek-file") {
		t.Errorf("CA without the KEK: %v", err)
	}
	other, err := keyring.LoadKEK(kekFile(t, strings.Repeat("x", 44)))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = (&keyring.Keyring{Store: st, KEK: other, Logger: discard}).CA(t.Context(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Errorf("CA with another KEK: %v", err)
	}
}

// An installation from before keeps its CA and policy key: they are
// imported from the data directory, and sealed in place when a KEK comes
// later.
func TestImportLegacyFilesThenSeal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old, err := pki.LoadOrCreate(dir, []string{"localhost"}) // writes ca.pem, ca-key.pem
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	cert, _, err := (&keyring.Keyring{Store: st, Logger: discard}).CA(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cert, old.CAPEM()) {
		t.Error("the CA in the data directory was not imported")
	}
	kek, err := keyring.LoadKEK(kekFile(t, strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	k := &keyring.Keyring{Store: st, KEK: kek, Logger: discard}
	cert2, key2, err := k.CA(t.Context(), t.TempDir())
	if err != nil || !bytes.Equal(cert2, cert) || !bytes.Contains(key2, []byte("PRIVATE KEY")) {
		t.Fatalf("CA with a new KEK: %v", err)
	}
	stored, _ := st.ServerKey(t.Context(), store.ServerKeyCA)
	if !bytes.Contains(stored.PrivateKey, []byte("SEALED")) {
		t.Error("the CA key was not sealed in place once a KEK was given")
	}
}

func TestLoadKEKErrors(t *testing.T) {
	t.Parallel()
	if _, err := keyring.LoadKEK(kekFile(t, "short")); err == nil {
		t.Error("a 5-byte KEK was accepted")
	}
	if _, err := keyring.LoadKEK(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing KEK file was accepted")
	}
}
