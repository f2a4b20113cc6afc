package main

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/keyring"
	"github.com/vcguard/vcguard/server/store"
)

var (
	passwordLine = regexp.MustCompile(`(?m)^(?:password:|Password:)\s+(\S+)$`)
	otpauthLine  = regexp.MustCompile(`(?m)^(?:otpauth URL:\s+)?(otpauth://\S+)$`)
)

// canLogIn checks the credentials of text against the store with a real
// Login, at a fixed time.
func canLogIn(t *testing.T, st *store.Store, username, text string) {
	t.Helper()
	pw := passwordLine.FindStringSubmatch(text)
	u := otpauthLine.FindStringSubmatch(text)
	if pw == nil || u == nil {
		t.Fatalf("no password or otpauth URL in:\n%s", text)
	}
	key, err := otp.NewKeyFromURL(u[1])
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	code, err := totp.GenerateCode(key.Secret(), now)
	if err != nil {
		t.Fatal(err)
	}
	l := auth.NewLogin(st, slog.New(slog.DiscardHandler))
	l.Now = func() time.Time { return now }
	if _, err := l.Authenticate(t.Context(), auth.Attempt{Username: username, Password: pw[1], Code: code, RemoteAddr: "192.0.2.1:1"}); err != nil {
		t.Errorf("log in as %s: %v", username, err)
	}
}

func TestFirstAdmin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := store.OpenSQLite(t.Context(), filepath.Join(dir, databaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	api := &admin.Service{Store: st, Logger: logger}
	cfg := &config{DataDir: dir, HTTPAddr: "127.0.0.1:8080"}
	// A stale file from an earlier installation with a loose mode.
	path := filepath.Join(dir, initialAdminFile)
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := firstAdmin(t.Context(), cfg, api, logger); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	wantPrivateMode(t, initialAdminFile, fi)
	text, _ := os.ReadFile(path)
	if !strings.Contains(string(text), "Username:  admin") || !strings.Contains(string(text), "https://127.0.0.1:8080/") {
		t.Errorf("%s:\n%s", initialAdminFile, text)
	}
	canLogIn(t, st, "admin", string(text))
	// The log names the file, never the secrets.
	pw := passwordLine.FindStringSubmatch(string(text))[1]
	if !strings.Contains(logs.String(), path) || strings.Contains(logs.String(), pw) || strings.Contains(logs.String(), "otpauth") {
		t.Errorf("log:\n%s", logs.String())
	}
	// A second start changes nothing.
	if err := firstAdmin(t.Context(), cfg, api, logger); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, text) {
		t.Error("a second start rewrote the file")
	}
	log, _ := st.AuditLog(t.Context(), store.AuditFilter{Action: "admin_add"})
	if len(log) != 1 || log[0].Actor != "system" || log[0].Target != "admin:admin" {
		t.Errorf("audit = %+v", log)
	}
}

func TestAdminCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The data directory of a server that has run once.
	st, err := store.OpenSQLite(t.Context(), filepath.Join(dir, databaseFile))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	run := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		code := adminMain(t.Context(), append(args, "--data", dir), &out, &errOut)
		return out.String() + errOut.String(), code
	}
	out, code := run("add", "--username", "Dana", "--role", "analyst")
	if code != 0 || !strings.Contains(out, "username:    dana") || !strings.Contains(out, "role:        analyst") {
		t.Fatalf("add: %d\n%s", code, out)
	}
	st, err = store.OpenSQLite(t.Context(), filepath.Join(dir, databaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	canLogIn(t, st, "dana", out)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "--username", "dana", "--role", "admin"}, "already exists"},
		{[]string{"add", "--username", "erin", "--role", "root"}, "want admin, analyst or auditor"},
		{[]string{"add", "--username", "erin"}, "--role is required"},
		{[]string{"add", "--role", "admin"}, "--username is required"},
		{[]string{"disable", "--username", "nobody"}, "not found"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"list", "extra"}, "unexpected argument"},
		{[]string{"add", "--usernme", "x"}, "flag provided but not defined"},
	} {
		if out, code := run(tc.args...); code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: %d %q, want exit 2 with %q", tc.args, code, out, tc.want)
		}
	}
	var errOut bytes.Buffer
	if code := adminMain(t.Context(), []string{"add", "--username", "x", "--role", "admin", "--data", filepath.Join(dir, "none")}, &bytes.Buffer{}, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), "start the server once first") {
		t.Errorf("missing data directory: %d %s", code, errOut.String())
	}

	out, code = run("passwd", "--username", "dana", "--new-totp")
	if code != 0 || !strings.Contains(out, "otpauth URL:") {
		t.Fatalf("passwd: %d\n%s", code, out)
	}
	canLogIn(t, st, "dana", out)
	if out, code := run("disable", "--username", "dana"); code != 0 || !strings.Contains(out, "dana disabled") {
		t.Errorf("disable: %d %s", code, out)
	}
	out, code = run("list")
	if code != 0 || !regexp.MustCompile(`(?m)^dana\s+analyst\s+disabled\s+\S+`).MatchString(out) {
		t.Errorf("list: %d\n%s", code, out)
	}
	if out, code := run("enable", "--username", "dana"); code != 0 {
		t.Errorf("enable: %d %s", code, out)
	}
	if out, code := run("help"); code != 0 || !strings.Contains(out, "usage: vcguard-server admin") {
		t.Errorf("help: %d %s", code, out)
	}
	var got []string
	log, _ := st.AuditLog(t.Context(), store.AuditFilter{Actor: "system"})
	for i := len(log) - 1; i >= 0; i-- {
		got = append(got, log[i].Action)
	}
	if strings.Join(got, " ") != "admin_add admin_passwd admin_disable admin_enable" {
		t.Errorf("audit log: %v", got)
	}
}

// The first start is in the audit log: the first enrollment secret (with
// the default lifetime), the first API token, the first account and the
// initial policy, each by the server itself.
func TestFirstStartIsAudited(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := store.OpenSQLite(t.Context(), filepath.Join(dir, databaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logger := slog.New(slog.DiscardHandler)
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	api := &admin.Service{Store: st, Logger: logger, Catalog: cat, PolicyKey: key}
	cfg := &config{DataDir: dir, HTTPAddr: "127.0.0.1:8080", InitialPolicy: "eu-default"}
	if err := firstStart(t.Context(), cfg, api, logger); err != nil {
		t.Fatal(err)
	}
	log, err := st.AuditLog(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range log {
		got[e.Action] = e.Actor
	}
	for _, action := range []string{"enrollment_secret_create", "token_create", "admin_add", "policy_publish"} {
		if actor, ok := got[action]; !ok || !strings.HasPrefix(actor, "system") && !strings.HasPrefix(actor, "vcguard-server") {
			t.Errorf("first start: no %s entry by the server (%v)", action, got)
		}
	}
	secrets, err := st.EnrollmentSecrets(t.Context())
	if err != nil || len(secrets) != 1 {
		t.Fatalf("secrets = %v, %v", secrets, err)
	}
	if life := secrets[0].Expires.Sub(secrets[0].Created); life != admin.DefaultSecretTTL {
		t.Errorf("the first secret lasts %v, want the default %v", life, admin.DefaultSecretTTL)
	}
}

// With --kek-file the offline admin command seals the account's TOTP
// secret like the server; the account logs in through a store opened
// with the same key, and a store without it refuses to read the secret.
func TestAdminCommandSealsTOTP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := store.OpenSQLite(t.Context(), filepath.Join(dir, databaseFile))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	kekFile := filepath.Join(dir, "kek")
	if err := os.WriteFile(kekFile, []byte("0123456789abcdef0123456789abcdef-kek"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := adminMain(t.Context(), []string{"add", "--username", "kim", "--role", "admin", "--data", dir, "--kek-file", kekFile}, &out, &errOut); code != 0 {
		t.Fatalf("add: %d %s", code, errOut.String())
	}
	st, err = store.OpenSQLite(t.Context(), filepath.Join(dir, databaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AdminByUsername(t.Context(), "kim"); !errors.Is(err, store.ErrSealed) {
		t.Fatalf("reading the account without the key: %v, want ErrSealed", err)
	}
	kek, err := keyring.LoadKEK(kekFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := sealTOTPSecrets(t.Context(), st, kek, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	canLogIn(t, st, "kim", out.String())
}
