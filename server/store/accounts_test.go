package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

// These cases run in the shared suite (runSuite), on SQLite and PostgreSQL.

func auditActions(t *testing.T, s *store.Store) []string {
	t.Helper()
	entries, err := s.AuditLog(t.Context(), store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

func testInvites(t *testing.T, s *store.Store) {
	ctx := t.Context()
	carol := store.Admin{ID: "adm_c", Username: "carol", TOTPSecret: "JBSWY3DPEHPK3PXP", Role: store.RoleAuditor, Created: at(0)}
	inv := store.Invite{ID: "inv_1", Hash: hash("invite-1"), Username: "carol", CreatedBy: "alice", Created: at(0), Expires: at(72 * time.Hour)}
	if err := s.CreateAdminInvite(ctx, carol, inv, change("admin_invite")); err != nil {
		t.Fatalf("CreateAdminInvite: %v", err)
	}
	if err := s.CreateAdminInvite(ctx, carol, store.Invite{ID: "inv_x", Hash: hash("x"), Username: "carol", Created: at(0), Expires: at(time.Hour)},
		change("admin_invite")); !errors.Is(err, store.ErrExists) {
		t.Errorf("a second carol: %v, want ErrExists", err)
	}
	got, acct, err := s.InviteByHash(ctx, hash("invite-1"))
	if err != nil || got.ID != "inv_1" || got.Username != "carol" || got.CreatedBy != "alice" || !acct.Pending() || acct.TOTPSecret != carol.TOTPSecret {
		t.Fatalf("InviteByHash = %+v, %+v, %v", got, acct, err)
	}
	sameTime(t, "invite expiry", got.Expires, at(72*time.Hour))
	if !got.Usable(at(time.Hour)) || got.Usable(at(72*time.Hour)) {
		t.Errorf("Usable: an invite is usable before its expiry only")
	}
	if _, _, err := s.InviteByHash(ctx, hash("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("InviteByHash of an unknown token: %v", err)
	}
	open, err := s.OpenInvites(ctx)
	if err != nil || open["carol"].ID != "inv_1" {
		t.Errorf("OpenInvites = %v, %v", open, err)
	}
	// Expired: refused, nothing changes.
	if _, err := s.RedeemInvite(ctx, hash("invite-1"), at(72*time.Hour), "phc", 5, change("invite_redeem")); !errors.Is(err, store.ErrInviteSpent) {
		t.Errorf("RedeemInvite after expiry: %v, want ErrInviteSpent", err)
	}
	if a, _ := s.AdminByUsername(ctx, "carol"); !a.Pending() {
		t.Error("an expired invite set the account up")
	}
	before := len(auditActions(t, s))
	adm, err := s.RedeemInvite(ctx, hash("invite-1"), at(time.Hour), "phc-carol", 7, change("invite_redeem"))
	if err != nil || adm.PasswordHash != "phc-carol" || adm.TOTPCounter != 7 || adm.Pending() {
		t.Fatalf("RedeemInvite = %+v, %v", adm, err)
	}
	if n := len(auditActions(t, s)); n != before+1 {
		t.Errorf("RedeemInvite wrote %d audit entries, want 1", n-before)
	}
	// Used: refused the second time.
	if _, err := s.RedeemInvite(ctx, hash("invite-1"), at(2*time.Hour), "phc-other", 9, change("invite_redeem")); !errors.Is(err, store.ErrInviteSpent) {
		t.Errorf("second RedeemInvite: %v, want ErrInviteSpent", err)
	}
	if a, _ := s.AdminByUsername(ctx, "carol"); a.PasswordHash != "phc-carol" {
		t.Errorf("a used invite changed the password: %q", a.PasswordHash)
	}
	if open, _ := s.OpenInvites(ctx); len(open) != 0 {
		t.Errorf("OpenInvites after use = %v", open)
	}

	// A reset: the account is pending again, its sessions end, an older
	// open invite stops working.
	if err := s.CreateSession(ctx, store.Session{Hash: hash("sess"), Subject: "carol", Role: store.RoleAuditor, CSRF: "c",
		Created: at(time.Hour), Expires: at(10 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r1 := store.Invite{ID: "inv_2", Hash: hash("invite-2"), Username: "carol", CreatedBy: "alice", Created: at(2 * time.Hour), Expires: at(80 * time.Hour)}
	if err := s.ResetAdminInvite(ctx, r1, "NEWSECRET", change("admin_invite_reset")); err != nil {
		t.Fatal(err)
	}
	r2 := store.Invite{ID: "inv_3", Hash: hash("invite-3"), Username: "carol", CreatedBy: "alice", Created: at(3 * time.Hour), Expires: at(80 * time.Hour)}
	if err := s.ResetAdminInvite(ctx, r2, "NEWERSECRET", change("admin_invite_reset")); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.AdminByUsername(ctx, "carol"); !a.Pending() || a.TOTPSecret != "NEWERSECRET" || a.TOTPCounter != 0 {
		t.Errorf("after a reset: %+v", a)
	}
	if _, err := s.SessionByHash(ctx, hash("sess"), at(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a reset left the session: %v", err)
	}
	if _, err := s.RedeemInvite(ctx, hash("invite-2"), at(4*time.Hour), "phc", 1, change("invite_redeem")); !errors.Is(err, store.ErrInviteSpent) {
		t.Errorf("a superseded invite: %v, want ErrInviteSpent", err)
	}
	if _, err := s.RedeemInvite(ctx, hash("invite-3"), at(4*time.Hour), "phc-3", 1, change("invite_redeem")); err != nil {
		t.Errorf("the newest invite: %v", err)
	}
	if err := s.ResetAdminInvite(ctx, store.Invite{ID: "inv_4", Hash: hash("i4"), Username: "nobody", Created: at(0), Expires: at(time.Hour)},
		"S", change("admin_invite_reset")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("reset of an unknown account: %v", err)
	}
	if _, _, err := s.InviteByHash(ctx, hash("i4")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed reset left its invite: %v", err)
	}
}

func testAPITokenUse(t *testing.T, s *store.Store) {
	ctx := t.Context()
	for _, a := range []store.Admin{
		{ID: "adm_a", Username: "alice", PasswordHash: "phc", TOTPSecret: "S", Role: store.RoleAdmin, Created: at(0)},
		{ID: "adm_b", Username: "bob", PasswordHash: "phc", TOTPSecret: "S", Role: store.RoleAnalyst, Created: at(0)},
	} {
		if err := s.CreateAdmin(ctx, a, change("admin_add")); err != nil {
			t.Fatal(err)
		}
	}
	tokens := []store.APIToken{
		{ID: "tok_a", Hash: hash("a"), Role: store.RoleAdmin, Owner: "alice", Created: at(0), Expires: at(24 * time.Hour)},
		{ID: "tok_b", Hash: hash("b"), Role: store.RoleAnalyst, Owner: "bob", Created: at(0), Expires: at(24 * time.Hour)},
		{ID: "tok_old", Hash: hash("old"), Role: store.RoleAuditor, Created: at(0)},
	}
	for _, tok := range tokens {
		if err := s.CreateAPIToken(ctx, tok, change("token_create")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.UseAPIToken(ctx, hash("a"), at(time.Hour))
	if err != nil || got.ID != "tok_a" || got.Owner != "alice" {
		t.Fatalf("UseAPIToken = %+v, %v", got, err)
	}
	sameTime(t, "last used", got.LastUsed, at(time.Hour))
	sameTime(t, "expires", got.Expires, at(24*time.Hour))
	// Within the resolution: not written again.
	if got, err = s.UseAPIToken(ctx, hash("a"), at(time.Hour+30*time.Second)); err != nil {
		t.Fatal(err)
	}
	sameTime(t, "last used within a minute", got.LastUsed, at(time.Hour))
	if got, err = s.UseAPIToken(ctx, hash("a"), at(time.Hour+61*time.Second)); err != nil {
		t.Fatal(err)
	}
	list, err := s.APITokensOf(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].ID != "tok_a" {
		t.Fatalf("APITokensOf(alice) = %+v, %v", list, err)
	}
	sameTime(t, "stored last used", list[0].LastUsed, at(time.Hour+61*time.Second))
	// Expired.
	if _, err := s.UseAPIToken(ctx, hash("a"), at(24*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an expired token: %v", err)
	}
	// A token made before expiry and owners works.
	if _, err := s.UseAPIToken(ctx, hash("old"), at(1000*time.Hour)); err != nil {
		t.Errorf("a token without owner or expiry: %v", err)
	}
	// Owner disabled: refused.
	if _, err := s.UseAPIToken(ctx, hash("b"), at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.DisableAdmin(ctx, "bob", at(2*time.Hour), change("admin_disable")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UseAPIToken(ctx, hash("b"), at(3*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a token of a disabled account: %v", err)
	}
	if err := s.EnableAdmin(ctx, "bob", change("admin_enable")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UseAPIToken(ctx, hash("b"), at(3*time.Hour)); err != nil {
		t.Errorf("a token of an enabled account again: %v", err)
	}
	// Revoking someone else's token is not found and changes nothing.
	if _, err := s.RevokeAPITokenOf(ctx, "tok_a", "bob", at(4*time.Hour), change("token_revoke")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob revoking alice's token: %v", err)
	}
	if _, err := s.UseAPIToken(ctx, hash("a"), at(4*time.Hour)); err != nil {
		t.Errorf("alice's token after bob's attempt: %v", err)
	}
	if tok, err := s.RevokeAPITokenOf(ctx, "tok_b", "bob", at(4*time.Hour), change("token_revoke")); err != nil || tok.Revoked.IsZero() {
		t.Errorf("bob revoking his token: %+v, %v", tok, err)
	}
	if _, err := s.UseAPIToken(ctx, hash("b"), at(5*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a revoked token: %v", err)
	}
	if !store.RoleAdmin.Covers(store.RoleAuditor) || store.RoleAnalyst.Covers(store.RoleAdmin) || store.RoleAuditor.Covers(store.RoleAnalyst) ||
		!store.RoleAnalyst.Covers(store.RoleAnalyst) {
		t.Error("Covers: admin covers all, every role itself, nothing else")
	}
}

func testSelfServiceCredentials(t *testing.T, s *store.Store) {
	ctx := t.Context()
	if err := s.CreateAdmin(ctx, store.Admin{ID: "adm_a", Username: "alice", PasswordHash: "phc-1", TOTPSecret: "OLD", Role: store.RoleAdmin,
		Created: at(0)}, change("admin_add")); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"here", "there"} {
		if err := s.CreateSession(ctx, store.Session{Hash: hash(h), Subject: "alice", Role: store.RoleAdmin, CSRF: "c",
			Created: at(0), Expires: at(10 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ChangeAdminPassword(ctx, "alice", "phc-2", hash("here"), change("password_change")); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.AdminByUsername(ctx, "alice"); a.PasswordHash != "phc-2" {
		t.Errorf("password not changed: %q", a.PasswordHash)
	}
	if _, err := s.SessionByHash(ctx, hash("here"), at(time.Hour)); err != nil {
		t.Errorf("the session that changed the password ended: %v", err)
	}
	if _, err := s.SessionByHash(ctx, hash("there"), at(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another session survived the password change: %v", err)
	}
	if err := s.ChangeAdminPassword(ctx, "nobody", "phc", nil, change("password_change")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("password change of an unknown account: %v", err)
	}

	if err := s.ConfirmPendingTOTP(ctx, "alice", "NEW", 3, hash("here"), change("totp_reset")); !errors.Is(err, store.ErrNoPendingTOTP) {
		t.Errorf("confirm without a pending enrolment: %v", err)
	}
	if err := s.SetPendingTOTP(ctx, "alice", "NEW", change("totp_reset_start")); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.AdminByUsername(ctx, "alice"); a.TOTPSecret != "OLD" || a.TOTPPending != "NEW" {
		t.Errorf("pending enrolment: %+v", a)
	}
	if err := s.ConfirmPendingTOTP(ctx, "alice", "OTHER", 3, hash("here"), change("totp_reset")); !errors.Is(err, store.ErrNoPendingTOTP) {
		t.Errorf("confirm of another secret: %v", err)
	}
	if err := s.ConfirmPendingTOTP(ctx, "alice", "NEW", 3, hash("here"), change("totp_reset")); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.AdminByUsername(ctx, "alice"); a.TOTPSecret != "NEW" || a.TOTPPending != "" || a.TOTPCounter != 3 {
		t.Errorf("after confirming: %+v", a)
	}
	if _, err := s.SessionByHash(ctx, hash("here"), at(time.Hour)); err != nil {
		t.Errorf("the session that reset TOTP ended: %v", err)
	}
}

// testAccountsAuditInTransaction: the account changes record their audit
// entry in their own transaction; when it cannot be recorded, the change
// fails and leaves nothing changed.
func testAccountsAuditInTransaction(t *testing.T, s *store.Store) {
	ctx := t.Context()
	if err := s.CreateAdmin(ctx, store.Admin{ID: "adm_a", Username: "alice", PasswordHash: "phc", TOTPSecret: "T", Role: store.RoleAdmin,
		Created: at(0)}, change("admin_add")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAdminInvite(ctx, store.Admin{ID: "adm_c", Username: "carol", TOTPSecret: "C", Role: store.RoleAuditor, Created: at(0)},
		store.Invite{ID: "inv_c", Hash: hash("c"), Username: "carol", Created: at(0), Expires: at(time.Hour)}, change("admin_invite")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPendingTOTP(ctx, "alice", "P", change("totp_reset_start")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIToken(ctx, store.APIToken{ID: "tok_a", Hash: hash("a"), Role: store.RoleAdmin, Owner: "alice", Created: at(0),
		Expires: at(time.Hour)}, change("token_create")); err != nil {
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
	_, errRedeem := s.RedeemInvite(ctx, hash("c"), later, "phc-c", 1, change("invite_redeem"))
	_, errRevoke := s.RevokeAPITokenOf(ctx, "tok_a", "alice", later, change("token_revoke"))
	for name, err := range map[string]error{
		"CreateAdminInvite": s.CreateAdminInvite(ctx, store.Admin{ID: "adm_d", Username: "dave", TOTPSecret: "D", Role: store.RoleAuditor, Created: later},
			store.Invite{ID: "inv_d", Hash: hash("d"), Username: "dave", Created: later, Expires: at(time.Hour)}, change("admin_invite")),
		"ResetAdminInvite": s.ResetAdminInvite(ctx, store.Invite{ID: "inv_a", Hash: hash("ia"), Username: "alice", Created: later, Expires: at(time.Hour)},
			"NEW", change("admin_invite_reset")),
		"RedeemInvite":        errRedeem,
		"ChangeAdminPassword": s.ChangeAdminPassword(ctx, "alice", "phc-2", nil, change("password_change")),
		"SetPendingTOTP":      s.SetPendingTOTP(ctx, "alice", "Q", change("totp_reset_start")),
		"ConfirmPendingTOTP":  s.ConfirmPendingTOTP(ctx, "alice", "P", 9, nil, change("totp_reset")),
		"RevokeAPITokenOf":    errRevoke,
	} {
		if err == nil {
			t.Errorf("%s succeeded although its audit entry was refused", name)
		}
	}
	if a, err := s.AdminByUsername(ctx, "alice"); err != nil || a.PasswordHash != "phc" || a.TOTPSecret != "T" || a.TOTPPending != "P" {
		t.Errorf("alice = %+v, %v; want unchanged", a, err)
	}
	if c, err := s.AdminByUsername(ctx, "carol"); err != nil || !c.Pending() {
		t.Errorf("carol = %+v, %v; want still pending", c, err)
	}
	if inv, _, err := s.InviteByHash(ctx, hash("c")); err != nil || !inv.Used.IsZero() {
		t.Errorf("carol's invite = %+v, %v; want unused", inv, err)
	}
	if _, err := s.AdminByUsername(ctx, "dave"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("dave: %v, want not created", err)
	}
	if _, err := s.SessionByHash(ctx, hash("s1"), at(0)); err != nil {
		t.Errorf("alice's session: %v, want alive", err)
	}
	if toks, err := s.APITokens(ctx); err != nil || len(toks) != 1 || !toks[0].Revoked.IsZero() {
		t.Errorf("tokens = %+v, %v; want tok_a, not revoked", toks, err)
	}
	after, err := s.AuditLog(ctx, store.AuditFilter{})
	if err != nil || len(after) != len(before) {
		t.Errorf("audit log has %d entries, %v; want the %d from before", len(after), err, len(before))
	}
}
