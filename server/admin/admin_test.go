package admin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/store"
)

var alice = admin.Actor{Subject: "alice", RemoteAddr: "192.0.2.7"}

// Every change is recorded with its actor, address, action and target, in
// the order made.
func TestEveryChangeAudited(t *testing.T) {
	t.Parallel()
	env := adminapitest.New(t)
	s, ctx := env.Service, t.Context()
	// Version 1 is the European default (adminapitest.New).
	doc, err := policies.ExamplePolicy("self-hosted-only")
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.PublishPolicy(ctx, alice, doc, "self-hosted tools only")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RollbackPolicy(ctx, alice, 1, "back to the default"); err != nil {
		t.Fatal(err)
	}
	sec, _, err := s.CreateEnrollmentSecret(ctx, alice, admin.SecretSpec{Description: "laptops", Group: "radiology"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeEnrollmentSecret(ctx, alice, sec.ID); err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.CreateAPIToken(ctx, alice, "grafana", store.RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeAPIToken(ctx, alice, tok.ID); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bob", "carol"} {
		if _, err := s.CreateAdmin(ctx, alice, name, store.RoleAdmin); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ResetAdminPassword(ctx, alice, "bob", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DisableAdmin(ctx, alice, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnableAdmin(ctx, alice, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.CreateDevice(ctx, store.Device{ID: "dev-1", Hostname: "laptop-1", OS: "linux", SecretID: sec.ID, Enrolled: s.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeDevice(ctx, alice, "dev-1"); err != nil {
		t.Fatal(err)
	}
	log, err := env.Store.AuditLog(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(log) - 1; i >= 0; i-- {
		e := log[i]
		if e.Actor != alice.Subject || e.RemoteAddr != alice.RemoteAddr {
			t.Errorf("%s %s by %q from %q, want alice from 192.0.2.7", e.Action, e.Target, e.Actor, e.RemoteAddr)
		}
		got = append(got, e.Action+" "+e.Target)
	}
	want := []string{
		"policy_publish policy:2", "policy_rollback policy:3",
		"enrollment_secret_create enrollment_secret:" + sec.ID, "enrollment_secret_revoke enrollment_secret:" + sec.ID,
		"token_create token:" + tok.ID, "token_revoke token:" + tok.ID,
		"admin_add admin:bob", "admin_add admin:carol", "admin_passwd admin:bob", "admin_disable admin:bob", "admin_enable admin:bob",
		"device_revoke device:dev-1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if v.PublishedBy != "alice" {
		t.Errorf("published by %q, want alice", v.PublishedBy)
	}
}

// A change without an actor is refused before anything is written; so is a
// group no policy can target.
func TestValidatedOnce(t *testing.T) {
	t.Parallel()
	env := adminapitest.New(t)
	s, ctx := env.Service, t.Context()
	if _, _, err := s.CreateAPIToken(ctx, admin.Actor{}, "x", store.RoleAdmin); err == nil {
		t.Error("CreateAPIToken without an actor succeeded")
	}
	for _, group := range []string{"Radiology", "a.b", "a_b", "-a", strings.Repeat("a", 42)} {
		if _, _, err := s.CreateEnrollmentSecret(ctx, alice, admin.SecretSpec{Description: "x", Group: group}); !errors.Is(err, admin.ErrInvalid) {
			t.Errorf("group %q: %v, want ErrInvalid", group, err)
		}
		if err := admin.ValidateGroup(group); err == nil {
			t.Errorf("ValidateGroup(%q) = nil", group)
		}
	}
	if secrets, _ := env.Store.EnrollmentSecrets(ctx); len(secrets) != 0 {
		t.Errorf("secrets created: %+v", secrets)
	}
	if log, _ := env.Store.AuditLog(ctx, store.AuditFilter{}); len(log) != 0 {
		t.Errorf("audit entries of refused changes: %+v", log)
	}
	if _, err := s.DisableAdmin(ctx, alice, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DisableAdmin(nobody) = %v", err)
	}
}

// A change whose audit entry cannot be written does not happen.
func TestAuditFailureLeavesNothingChanged(t *testing.T) {
	t.Parallel()
	env := adminapitest.New(t)
	s, ctx := env.Service, t.Context()
	env.Exec(t, 1, `CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log refused'); END`,
		func(int) []any { return nil })
	// A change (version 1 is the European default), so only the audit
	// entry can refuse it.
	doc, err := policies.ExamplePolicy("monitor-only")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishPolicy(ctx, alice, doc, "monitor only"); err == nil {
		t.Error("PublishPolicy succeeded without its audit entry")
	}
	if _, _, err := s.CreateEnrollmentSecret(ctx, alice, admin.SecretSpec{Description: "x"}); err == nil {
		t.Error("CreateEnrollmentSecret succeeded without its audit entry")
	}
	if _, err := s.CreateAdmin(ctx, alice, "bob", store.RoleAdmin); err == nil {
		t.Error("CreateAdmin succeeded without its audit entry")
	}
	if p, err := env.Store.CurrentPolicy(ctx); err != nil || p.Version != 1 {
		t.Errorf("current policy %d, %v; want version 1 still", p.Version, err)
	}
	if secrets, _ := env.Store.EnrollmentSecrets(ctx); len(secrets) != 0 {
		t.Errorf("secrets: %+v", secrets)
	}
	if admins, _ := env.Store.Admins(ctx); len(admins) != 0 {
		t.Errorf("admins: %+v", admins)
	}
}
