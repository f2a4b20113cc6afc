package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

// testOIDCSignIn (in the shared suite): the first sign-in creates the
// identity and its session; a sign-in with the same role audits no change;
// one with another role audits role_change in the same transaction.
func testOIDCSignIn(t *testing.T, s *store.Store) {
	ctx := t.Context()
	sign := func(n int, role store.Role) store.Role {
		t.Helper()
		id := store.OIDCIdentity{Issuer: "https://idp.example", Subject: "sub-1", Label: "oidc:ann@example.com", Role: role,
			LastLogin: at(time.Duration(n) * time.Hour)}
		sess := store.Session{Hash: hash("oidc-" + string(rune('a'+n))), Subject: id.Label, Role: role, CSRF: "c",
			Created: id.LastLogin, Expires: id.LastLogin.Add(12 * time.Hour)}
		prev, err := s.OIDCSignIn(ctx, id, sess, store.AuditEntry{At: id.LastLogin, Actor: id.Label, Action: "login_success"})
		if err != nil {
			t.Fatalf("OIDCSignIn %d: %v", n, err)
		}
		got, err := s.SessionByHash(ctx, sess.Hash, id.LastLogin)
		if err != nil || got.Role != role || got.Subject != id.Label {
			t.Fatalf("session of sign-in %d: %+v, %v", n, got, err)
		}
		return prev
	}
	if prev := sign(0, store.RoleAuditor); prev != "" {
		t.Errorf("first sign-in: previous role %q", prev)
	}
	if prev := sign(1, store.RoleAuditor); prev != store.RoleAuditor {
		t.Errorf("second sign-in: previous role %q", prev)
	}
	if got := auditActions(t, s); slices.Contains(got, "role_change") || len(got) != 2 {
		t.Errorf("same role twice: audit %v", got)
	}
	if prev := sign(2, store.RoleAdmin); prev != store.RoleAuditor {
		t.Errorf("third sign-in: previous role %q", prev)
	}
	// The sessions of the old role ended with the change.
	for _, old := range []string{"oidc-a", "oidc-b"} {
		if _, err := s.SessionByHash(ctx, hash(old), at(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session %s of the old role: %v", old, err)
		}
	}
	entries, err := s.AuditLog(ctx, store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var change *store.AuditEntry
	for i := range entries {
		if entries[i].Action == "role_change" {
			change = &entries[i]
		}
	}
	if change == nil || change.Actor != "oidc:ann@example.com" || string(change.Detail) == "" ||
		!slices.Contains([]string{`{"from":"auditor","issuer":"https://idp.example","method":"oidc","sub":"sub-1","to":"admin"}`}, string(change.Detail)) {
		t.Errorf("role change entry: %+v", change)
	}
	ids, err := s.OIDCIdentities(ctx)
	if err != nil || len(ids) != 1 || ids[0].Role != store.RoleAdmin {
		t.Fatalf("identities: %+v, %v", ids, err)
	}
	sameTime(t, "first login", ids[0].FirstLogin, at(0))
	sameTime(t, "last login", ids[0].LastLogin, at(2*time.Hour))
}
