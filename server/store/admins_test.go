package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

// These cases run in the shared suite (runSuite), on SQLite and PostgreSQL.

func testAdmins(t *testing.T, s *store.Store) {
	ctx := t.Context()
	if got, err := s.Admins(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Admins of an empty store = %v, %v", got, err)
	}
	alice := store.Admin{ID: "adm_1", Username: "alice", PasswordHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA",
		TOTPSecret: "JBSWY3DPEHPK3PXP", Role: store.RoleAdmin, Created: at(0)}
	bob := store.Admin{ID: "adm_2", Username: "bob", PasswordHash: "phc-bob", TOTPSecret: "SECRETBOB", Role: store.RoleAuditor, Created: at(time.Minute)}
	for _, a := range []store.Admin{bob, alice} {
		if err := s.CreateAdmin(ctx, a, change("admin_add")); err != nil {
			t.Fatalf("CreateAdmin(%s): %v", a.Username, err)
		}
	}
	if err := s.CreateAdmin(ctx, store.Admin{ID: "adm_3", Username: "alice", PasswordHash: "x", Role: store.RoleAnalyst, Created: at(0)}, change("admin_add")); !errors.Is(err, store.ErrExists) {
		t.Errorf("a second alice: %v, want ErrExists", err)
	}
	got, err := s.AdminByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "adm_1" || got.PasswordHash != alice.PasswordHash || got.TOTPSecret != alice.TOTPSecret || got.Role != store.RoleAdmin ||
		got.TOTPCounter != 0 || !got.Enabled() || !got.LastLogin.IsZero() {
		t.Errorf("AdminByUsername = %+v", got)
	}
	sameTime(t, "Created", got.Created, at(0))
	if str := fmt.Sprint(got); strings.Contains(str, alice.TOTPSecret) || strings.Contains(str, "argon2id") {
		t.Errorf("an Admin prints its secrets: %s", str)
	}
	if _, err := s.AdminByUsername(ctx, "Alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("usernames are stored as given (the caller normalises): %v", err)
	}
	list, err := s.Admins(ctx)
	if err != nil || len(list) != 2 || list[0].Username != "alice" || list[1].Username != "bob" {
		t.Errorf("Admins = %v, %v", list, err)
	}

	// A TOTP step is used once; earlier steps are refused too.
	for _, tc := range []struct {
		counter int64
		want    bool
	}{{100, true}, {100, false}, {99, false}, {101, true}} {
		if ok, err := s.UseTOTPCounter(ctx, "alice", tc.counter); err != nil || ok != tc.want {
			t.Errorf("UseTOTPCounter(%d) = %v, %v; want %v", tc.counter, ok, err, tc.want)
		}
	}
	if ok, err := s.UseTOTPCounter(ctx, "nobody", 5); err != nil || ok {
		t.Errorf("UseTOTPCounter of an unknown admin = %v, %v", ok, err)
	}

	if err := s.AdminLoggedIn(ctx, "alice", at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Sessions of alice end when her password changes or she is disabled;
	// bob's stay.
	newSession := func(id, subject string) {
		t.Helper()
		if err := s.CreateSession(ctx, store.Session{Hash: hash(id), Subject: subject, Role: store.RoleAdmin, CSRF: "c",
			Created: at(time.Hour), Expires: at(10 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	alive := func(id string) bool {
		_, err := s.SessionByHash(ctx, hash(id), at(2*time.Hour))
		return err == nil
	}
	newSession("a1", "alice")
	newSession("b1", "bob")
	if err := s.ResetAdminCredentials(ctx, "alice", "phc-new", "", change("admin_passwd")); err != nil {
		t.Fatal(err)
	}
	if alive("a1") || !alive("b1") {
		t.Errorf("after alice's password change: alice's session alive %v, bob's %v", alive("a1"), alive("b1"))
	}
	newSession("a2", "alice")
	if err := s.ResetAdminCredentials(ctx, "alice", "phc-new", "NEWSECRET", change("admin_passwd")); err != nil {
		t.Fatal(err)
	}
	if alive("a2") {
		t.Error("alice's session survived a new TOTP secret")
	}
	newSession("a3", "alice")
	if err := s.DisableAdmin(ctx, "alice", at(3*time.Hour), change("admin_disable")); err != nil {
		t.Fatal(err)
	}
	if err := s.DisableAdmin(ctx, "alice", at(4*time.Hour), change("admin_disable")); err != nil {
		t.Fatal(err)
	}
	if alive("a3") || !alive("b1") {
		t.Errorf("after disabling alice: alice's session alive %v, bob's %v", alive("a3"), alive("b1"))
	}
	got, err = s.AdminByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.Enabled() || got.PasswordHash != "phc-new" || got.TOTPSecret != "NEWSECRET" || got.TOTPCounter != 0 {
		t.Errorf("alice after changes = %+v", got)
	}
	sameTime(t, "Disabled (the first time)", got.Disabled, at(3*time.Hour))
	sameTime(t, "LastLogin", got.LastLogin, at(time.Hour))
	if err := s.EnableAdmin(ctx, "alice", change("admin_enable")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AdminByUsername(ctx, "alice"); !got.Enabled() {
		t.Error("EnableAdmin left alice disabled")
	}
	if err := s.DeleteSessionsOf(ctx, "bob"); err != nil || alive("b1") {
		t.Errorf("DeleteSessionsOf(bob): %v, session alive %v", err, alive("b1"))
	}
	for name, err := range map[string]error{
		"DisableAdmin":                s.DisableAdmin(ctx, "nobody", at(0), change("admin_disable")),
		"EnableAdmin":                 s.EnableAdmin(ctx, "nobody", change("admin_enable")),
		"ResetAdminCredentials":       s.ResetAdminCredentials(ctx, "nobody", "x", "", change("admin_passwd")),
		"ResetAdminCredentials(TOTP)": s.ResetAdminCredentials(ctx, "nobody", "x", "x", change("admin_passwd")),
		"AdminLoggedIn":               s.AdminLoggedIn(ctx, "nobody", at(0)),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s of an unknown admin: %v, want ErrNotFound", name, err)
		}
	}
}

// lockAfter3 locks for a minute at 3 failures, doubling with every further
// failure.
func lockAfter3(failures int) time.Duration {
	if failures < 3 {
		return 0
	}
	return time.Minute << (failures - 3)
}

func testLoginFailures(t *testing.T, s *store.Store) {
	ctx := t.Context()
	if l, err := s.LoginFailuresOf(ctx, "user:alice"); err != nil || l.Failures != 0 || l.Locked(at(0)) {
		t.Fatalf("no failures yet = %+v, %v", l, err)
	}
	record := func(key string, when time.Time) store.LoginFailures {
		t.Helper()
		l, err := s.RecordLoginFailure(ctx, key, when, 24*time.Hour, lockAfter3)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	for i := 1; i <= 2; i++ {
		if l := record("user:alice", at(time.Duration(i)*time.Second)); l.Failures != i || l.Locked(at(time.Duration(i)*time.Second)) {
			t.Errorf("failure %d = %+v", i, l)
		}
	}
	l := record("user:alice", at(3*time.Second))
	sameTime(t, "locked until after 3 failures", l.LockedUntil, at(3*time.Second+time.Minute))
	l = record("user:alice", at(4*time.Second))
	sameTime(t, "locked until after 4 failures (doubled)", l.LockedUntil, at(4*time.Second+2*time.Minute))
	stored, err := s.LoginFailuresOf(ctx, "user:alice")
	if err != nil || stored.Failures != 4 || !stored.LockedUntil.Equal(l.LockedUntil) || !stored.Locked(at(time.Minute)) || stored.Locked(at(3*time.Minute)) {
		t.Errorf("stored = %+v, %v", stored, err)
	}
	// Another key is independent.
	if l := record("ip:192.0.2.1", at(5*time.Second)); l.Failures != 1 {
		t.Errorf("other key = %+v", l)
	}
	// Failures older than a day are forgotten.
	if l := record("user:alice", at(25*time.Hour)); l.Failures != 1 || l.Locked(at(25*time.Hour)) {
		t.Errorf("a day later = %+v", l)
	}
	// A success clears the key.
	if err := s.ClearLoginFailures(ctx, "user:alice"); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.LoginFailuresOf(ctx, "user:alice"); l.Failures != 0 {
		t.Errorf("after clearing = %+v", l)
	}

	// Concurrent failures (replicas) are all counted.
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := s.RecordLoginFailure(ctx, "ip:198.51.100.7", at(time.Hour), 24*time.Hour, lockAfter3); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if l, _ := s.LoginFailuresOf(ctx, "ip:198.51.100.7"); l.Failures != n {
		t.Errorf("%d concurrent failures counted as %d", n, l.Failures)
	}
}

func testAuditLog(t *testing.T, s *store.Store) {
	ctx := t.Context()
	if got, err := s.AuditLog(ctx, store.AuditFilter{}); err != nil || len(got) != 0 {
		t.Fatalf("empty audit log = %v, %v", got, err)
	}
	entries := []store.AuditEntry{
		{At: at(0), Actor: "alice", Action: "login_success", RemoteAddr: "192.0.2.1"},
		{At: at(time.Second), Actor: "alice", Action: "policy_publish", Target: "policy:2", Detail: json.RawMessage(`{"name":"EU"}`), RemoteAddr: "192.0.2.1"},
		{At: at(time.Second), Actor: "token:tok_1", Action: "enrollment_secret_create", Target: "es_1"},
		{At: at(2 * time.Second), Actor: "system", Action: "admin_add", Target: "admin:bob", Detail: json.RawMessage(`{"role":"auditor"}`)},
	}
	for _, e := range entries {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendAudit(ctx, store.AuditEntry{At: at(0), Actor: "x", Action: "bad", Detail: json.RawMessage(`{not json`)}); err == nil {
		t.Error("an entry with a detail that is not JSON was stored")
	}
	got, err := s.AuditLog(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("audit log has %d entries, want 4", len(got))
	}
	for i, e := range got {
		want := entries[len(entries)-1-i]
		if e.Actor != want.Actor || e.Action != want.Action || e.Target != want.Target || e.RemoteAddr != want.RemoteAddr {
			t.Errorf("entry %d = %+v, want %+v", i, e, want)
		}
		sameTime(t, "At", e.At, want.At)
		if i > 0 && e.ID >= got[i-1].ID {
			t.Errorf("entries not newest first: ids %d then %d", got[i-1].ID, e.ID)
		}
	}
	var detail map[string]string
	if err := json.Unmarshal(got[2].Detail, &detail); err != nil || detail["name"] != "EU" {
		t.Errorf("detail = %s", got[2].Detail)
	}
	if string(got[1].Detail) != "{}" {
		t.Errorf("empty detail stored as %q, want {}", got[1].Detail)
	}

	if got, _ := s.AuditLog(ctx, store.AuditFilter{Actor: "alice"}); len(got) != 2 || got[0].Action != "policy_publish" {
		t.Errorf("by actor = %+v", got)
	}
	if got, _ := s.AuditLog(ctx, store.AuditFilter{Actor: "alice", Action: "login_success"}); len(got) != 1 {
		t.Errorf("by actor and action = %+v", got)
	}
	page, _ := s.AuditLog(ctx, store.AuditFilter{Limit: 2})
	if len(page) != 2 {
		t.Fatalf("limit 2: %d entries", len(page))
	}
	rest, _ := s.AuditLog(ctx, store.AuditFilter{Before: page[1].ID})
	if len(rest) != 2 || rest[0].ID >= page[1].ID {
		t.Errorf("next page = %+v", rest)
	}
}

func testAPITokenListRevoke(t *testing.T, s *store.Store) {
	ctx := t.Context()
	for _, tok := range []store.APIToken{
		{ID: "tok_1", Description: "ci", Hash: hash("1"), Role: store.RoleAdmin, Created: at(0)},
		{ID: "tok_2", Description: "grafana", Hash: hash("2"), Role: store.RoleAnalyst, Created: at(time.Minute)},
	} {
		if err := s.CreateAPIToken(ctx, tok, change("token_create")); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.APITokens(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "tok_2" || list[1].ID != "tok_1" || list[0].Role != store.RoleAnalyst {
		t.Fatalf("APITokens = %+v, %v", list, err)
	}
	tok, err := s.RevokeAPIToken(ctx, "tok_1", at(time.Hour), change("token_revoke"))
	if err != nil {
		t.Fatal(err)
	}
	sameTime(t, "Revoked", tok.Revoked, at(time.Hour))
	if tok, _ = s.RevokeAPIToken(ctx, "tok_1", at(2*time.Hour), change("token_revoke")); !tok.Revoked.Equal(at(time.Hour)) {
		t.Errorf("revoking twice moved the time to %v", tok.Revoked)
	}
	if _, err := s.APITokenByHash(ctx, hash("1")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a revoked token still authenticates: %v", err)
	}
	if _, err := s.APITokenByHash(ctx, hash("2")); err != nil {
		t.Errorf("the other token: %v", err)
	}
	if _, err := s.RevokeAPIToken(ctx, "tok_missing", at(0), change("token_revoke")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking an unknown token: %v, want ErrNotFound", err)
	}
	if list, _ := s.APITokens(ctx); len(list) != 2 || list[1].Revoked.IsZero() {
		t.Errorf("the list keeps revoked tokens, marked: %+v", list)
	}
}
