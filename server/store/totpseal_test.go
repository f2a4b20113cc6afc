package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/server/keyring"
	"github.com/vcguard/vcguard/server/store"
)

// With a key-encryption key the accounts' TOTP secrets are stored sealed
// and read back opened; secrets from before the key are sealed in place; a
// store without the key refuses to read a sealed one, naming --kek-file; a
// sealed secret copied into another account's row does not open.
func testTOTPSealed(t *testing.T, s *store.Store) {
	ctx := t.Context()
	// An account from before the key: stored as is.
	if err := s.CreateAdmin(ctx, store.Admin{ID: "adm_old", Username: "old", PasswordHash: "h", TOTPSecret: "OLDSECRETBASE32AA", Role: store.RoleAdmin, Created: at(0)},
		change("admin_add")); err != nil {
		t.Fatal(err)
	}
	kek := []byte("0123456789abcdef0123456789abcdef")
	sealer, err := keyring.TOTPSealer(kek)
	if err != nil {
		t.Fatal(err)
	}
	s.SetSecretSealer(sealer)
	if n, err := s.SealTOTPSecrets(ctx); err != nil || n != 1 {
		t.Fatalf("SealTOTPSecrets = %d, %v; want the 1 account from before", n, err)
	}
	if n, err := s.SealTOTPSecrets(ctx); err != nil || n != 0 {
		t.Fatalf("SealTOTPSecrets again = %d, %v; want 0", n, err)
	}
	if err := s.CreateAdmin(ctx, store.Admin{ID: "adm_new", Username: "new", PasswordHash: "h", TOTPSecret: "NEWSECRETBASE32AA", Role: store.RoleAdmin, Created: at(0)},
		change("admin_add")); err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]string{"old": "OLDSECRETBASE32AA", "new": "NEWSECRETBASE32AA"} {
		raw, _ := store.RawTOTP(t, s, user)
		if !strings.HasPrefix(raw, store.SealedPrefix) || strings.Contains(raw, want) {
			t.Errorf("%s's secret stored as %q, want it sealed", user, raw)
		}
		a, err := s.AdminByUsername(ctx, user)
		if err != nil || a.TOTPSecret != want {
			t.Errorf("%s's secret read as %q, %v; want %q", user, a.TOTPSecret, err, want)
		}
	}

	// A new authenticator: pending sealed, confirmed by its plaintext.
	if err := s.SetPendingTOTP(ctx, "new", "PENDINGBASE32AAAA", change("totp_enrol")); err != nil {
		t.Fatal(err)
	}
	if _, pending := store.RawTOTP(t, s, "new"); !strings.HasPrefix(pending, store.SealedPrefix) {
		t.Errorf("pending secret stored as %q, want it sealed", pending)
	}
	if err := s.ConfirmPendingTOTP(ctx, "new", "SOMETHINGELSEAAAA", 1, nil, change("totp_confirm")); !errors.Is(err, store.ErrNoPendingTOTP) {
		t.Errorf("confirming another secret: %v, want ErrNoPendingTOTP", err)
	}
	if err := s.ConfirmPendingTOTP(ctx, "new", "PENDINGBASE32AAAA", 1, nil, change("totp_confirm")); err != nil {
		t.Fatal(err)
	}
	if a, err := s.AdminByUsername(ctx, "new"); err != nil || a.TOTPSecret != "PENDINGBASE32AAAA" || a.TOTPPending != "" {
		t.Errorf("after the confirmation: %q pending %q, %v", a.TOTPSecret, a.TOTPPending, err)
	}
	if err := s.ResetAdminCredentials(ctx, "old", "h2", "RESETBASE32AAAAAA", change("admin_password_reset")); err != nil {
		t.Fatal(err)
	}
	if raw, _ := store.RawTOTP(t, s, "old"); !strings.HasPrefix(raw, store.SealedPrefix) {
		t.Errorf("a reset secret stored as %q, want it sealed", raw)
	}

	// Another account's sealed value does not open here.
	stolen, _ := store.RawTOTP(t, s, "new")
	store.SetRawTOTP(t, s, "old", stolen)
	if _, err := s.AdminByUsername(ctx, "old"); err == nil {
		t.Error("a sealed secret copied from another account opened")
	}

	// Without the key: refused with a message naming --kek-file.
	s.SetSecretSealer(nil)
	if _, err := s.AdminByUsername(ctx, "new"); !errors.Is(err, store.ErrSealed) || !strings.Contains(err.Error(), "--kek-file") {
		t.Errorf("reading a sealed secret without the key: %v, want ErrSealed naming --kek-file", err)
	}
	// Another key: does not open.
	other, _ := keyring.TOTPSealer([]byte("another key-encryption key, 32 b"))
	s.SetSecretSealer(other)
	if _, err := s.AdminByUsername(ctx, "new"); err == nil || !strings.Contains(err.Error(), "--kek-file") {
		t.Errorf("reading with another key: %v, want an error naming --kek-file", err)
	}
}
