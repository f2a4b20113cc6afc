package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

// change is the audit entry of a change made by a test.
func change(action string) store.AuditEntry {
	return store.AuditEntry{At: at(0), Actor: "test", Action: action, Target: "test"}
}

// testAuditInTransaction: every change records its audit entry in its own
// transaction, so a change whose entry cannot be recorded fails and leaves
// nothing changed.
func testAuditInTransaction(t *testing.T, s *store.Store) {
	ctx := t.Context()
	sign := func(v uint64, d []byte) []byte { return d }
	if err := s.CreateAdmin(ctx, store.Admin{ID: "adm_1", Username: "alice", PasswordHash: "phc", TOTPSecret: "T", Role: store.RoleAdmin, Created: at(0)}, change("admin_add")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAdmin(ctx, store.Admin{ID: "adm_2", Username: "bob", PasswordHash: "phc", TOTPSecret: "T", Role: store.RoleAdmin, Created: at(0), Disabled: at(0)}, change("admin_add")); err != nil {
		t.Fatal(err)
	}
	if err := s.DisableAdmin(ctx, "bob", at(0), change("admin_disable")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIToken(ctx, store.APIToken{ID: "tok_1", Hash: hash("t1"), Role: store.RoleAdmin, Created: at(0)}, change("token_create")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEnrollmentSecret(ctx, store.EnrollmentSecret{ID: "es_1", Hash: hash("e1"), Created: at(0)}, change("enrollment_secret_create")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDevice(ctx, store.Device{ID: "dev-1", Hostname: "laptop-1", OS: "linux", SecretID: "es_1", Enrolled: at(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishPolicy(ctx, store.NewPolicy{Name: "p1", Document: []byte("doc1"), By: "test", At: at(0)}, sign, change("policy_publish")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, store.Session{Hash: hash("s1"), Subject: "alice", Role: store.RoleAdmin, Created: at(0), Expires: at(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	before, err := s.AuditLog(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}

	store.RefuseAudit(t, s)
	later := at(time.Minute)
	_, errPublish := s.PublishPolicy(ctx, store.NewPolicy{Name: "p2", Document: []byte("doc2"), By: "test", At: later}, sign, change("policy_publish"))
	_, errRevokeSecret := s.RevokeEnrollmentSecret(ctx, "es_1", later, change("enrollment_secret_revoke"))
	_, errRevokeToken := s.RevokeAPIToken(ctx, "tok_1", later, change("token_revoke"))
	_, errRevokeDevice := s.RevokeDevice(ctx, "dev-1", later, change("device_revoke"))
	for name, err := range map[string]error{
		"PublishPolicy":          errPublish,
		"CreateAdmin":            s.CreateAdmin(ctx, store.Admin{ID: "adm_3", Username: "carol", PasswordHash: "phc", Role: store.RoleAdmin, Created: later}, change("admin_add")),
		"DisableAdmin":           s.DisableAdmin(ctx, "alice", later, change("admin_disable")),
		"EnableAdmin":            s.EnableAdmin(ctx, "bob", change("admin_enable")),
		"ResetAdminCredentials":  s.ResetAdminCredentials(ctx, "alice", "phc-new", "NEW", change("admin_passwd")),
		"CreateAPIToken":         s.CreateAPIToken(ctx, store.APIToken{ID: "tok_2", Hash: hash("t2"), Role: store.RoleAdmin, Created: later}, change("token_create")),
		"RevokeAPIToken":         errRevokeToken,
		"CreateEnrollmentSecret": s.CreateEnrollmentSecret(ctx, store.EnrollmentSecret{ID: "es_2", Hash: hash("e2"), Created: later}, change("enrollment_secret_create")),
		"RevokeEnrollmentSecret": errRevokeSecret,
		"RevokeDevice":           errRevokeDevice,
		"DeleteSession":          s.DeleteSession(ctx, hash("s1"), change("logout")),
		"EnrollDevice": s.EnrollDevice(ctx, store.Device{ID: "dev-2", Hostname: "laptop-2", OS: "linux", SecretID: "es_1", CertSerial: "2", Enrolled: later},
			later, change("device_enroll")),
	} {
		if err == nil {
			t.Errorf("%s succeeded although its audit entry was refused", name)
		}
	}

	if p, err := s.CurrentPolicy(ctx); err != nil || p.Version != 1 {
		t.Errorf("current policy = %d, %v; want version 1 still", p.Version, err)
	}
	if admins, err := s.Admins(ctx); err != nil || len(admins) != 2 {
		t.Errorf("admins = %v, %v; want alice and bob only", admins, err)
	}
	if a, err := s.AdminByUsername(ctx, "alice"); err != nil || !a.Enabled() || a.PasswordHash != "phc" || a.TOTPSecret != "T" {
		t.Errorf("alice = %v (enabled %v, hash %q), %v; want unchanged", a, a.Enabled(), a.PasswordHash, err)
	}
	if b, err := s.AdminByUsername(ctx, "bob"); err != nil || b.Enabled() {
		t.Errorf("bob = %v (enabled %v), %v; want still disabled", b, b.Enabled(), err)
	}
	if toks, err := s.APITokens(ctx); err != nil || len(toks) != 1 || !toks[0].Revoked.IsZero() {
		t.Errorf("tokens = %+v, %v; want tok_1 alone, not revoked", toks, err)
	}
	if secrets, err := s.EnrollmentSecrets(ctx); err != nil || len(secrets) != 1 || !secrets[0].Revoked.IsZero() || secrets[0].Uses != 0 {
		t.Errorf("secrets = %+v, %v; want es_1 alone, not revoked, not used", secrets, err)
	}
	if _, err := s.DeviceRecord(ctx, "dev-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a device whose enrollment was not audited was stored: %v", err)
	}
	if d, err := s.DeviceRecord(ctx, "dev-1"); err != nil || !d.Revoked.IsZero() {
		t.Errorf("device = %+v, %v; want not revoked", d, err)
	}
	if ids, err := s.RevokedDevices(ctx); err != nil || len(ids) != 0 {
		t.Errorf("revoked devices = %v, %v; want none", ids, err)
	}
	if _, err := s.SessionByHash(ctx, hash("s1"), at(0)); err != nil {
		t.Errorf("session after a refused logout: %v; want it alive", err)
	}
	after, err := s.AuditLog(ctx, store.AuditFilter{})
	if err != nil || len(after) != len(before) {
		t.Errorf("audit log has %d entries, %v; want the %d from before", len(after), err, len(before))
	}
	// A change that fails for itself records nothing either.
	if err := s.CreateAdmin(ctx, store.Admin{ID: "adm_4", Username: "alice", Role: store.RoleAdmin, Created: later}, change("admin_add")); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateAdmin of a taken name: %v, want ErrExists before the audit entry", err)
	}
}
