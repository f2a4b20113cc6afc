package admin_test

import (
	"errors"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
)

// A token's role never exceeds its creator's; every token expires.
func TestIssueAPITokenScope(t *testing.T) {
	t.Parallel()
	env := adminapitest.New(t)
	s, ctx := env.Service, t.Context()
	roles := []store.Role{store.RoleAdmin, store.RoleAnalyst, store.RoleAuditor}
	for _, creator := range roles {
		for _, role := range roles {
			_, _, err := s.IssueAPIToken(ctx, alice, admin.TokenRequest{Role: role, CreatorRole: creator, Owner: "alice"})
			allowed := creator == store.RoleAdmin || creator == role
			if allowed != (err == nil) || (err != nil && !errors.Is(err, admin.ErrInvalid)) {
				t.Errorf("%s making a %s token: %v, want allowed %v", creator, role, err, allowed)
			}
		}
		// No role: the least privileged the creator may give.
		tok, _, err := s.IssueAPIToken(ctx, alice, admin.TokenRequest{CreatorRole: creator, Owner: "alice"})
		want := store.RoleAuditor
		if creator == store.RoleAnalyst {
			want = store.RoleAnalyst
		}
		if err != nil || tok.Role != want || tok.Expires.Sub(tok.Created) != admin.DefaultTokenTTL {
			t.Errorf("%s making a token without a role: %+v, %v; want %s expiring after %v", creator, tok, err, want, admin.DefaultTokenTTL)
		}
	}
	for _, ttl := range []time.Duration{-time.Hour, time.Second, admin.MaxTokenTTL + time.Hour} {
		if _, _, err := s.IssueAPIToken(ctx, alice, admin.TokenRequest{Role: store.RoleAuditor, CreatorRole: store.RoleAdmin, TTL: ttl}); !errors.Is(err, admin.ErrInvalid) {
			t.Errorf("ttl %v: %v, want ErrInvalid", ttl, err)
		}
	}
	if _, _, err := s.IssueAPIToken(ctx, alice, admin.TokenRequest{Role: "root", CreatorRole: store.RoleAdmin}); !errors.Is(err, admin.ErrInvalid) {
		t.Errorf("role root: %v", err)
	}
	if _, _, err := s.IssueAPIToken(ctx, admin.Actor{}, admin.TokenRequest{CreatorRole: store.RoleAdmin}); err == nil {
		t.Error("a token without an actor")
	}
}

// The service's side of an invite: the least privileged role by default,
// a wrong code or a weak password leaves the link usable, a used one is
// spent; nobody resets themselves by invite.
func TestInviteService(t *testing.T) {
	t.Parallel()
	env := adminapitest.New(t)
	s, ctx := env.Service, t.Context()
	inv, err := s.InviteAdmin(ctx, alice, " Bob ", "")
	if err != nil || inv.Admin.Username != "bob" || inv.Admin.Role != admin.DefaultRole || admin.DefaultRole != store.RoleAuditor {
		t.Fatalf("InviteAdmin = %+v, %v", inv, err)
	}
	if _, err := s.InviteAdmin(ctx, alice, "bob", store.RoleAdmin); !errors.Is(err, admin.ErrExists) {
		t.Errorf("a second bob: %v", err)
	}
	hash, err := auth.ParseInviteToken(inv.Token)
	if err != nil {
		t.Fatal(err)
	}
	open, err := s.Invite(ctx, hash)
	if err != nil || open.Admin.Username != "bob" || open.TOTPSecret == "" {
		t.Fatalf("Invite = %+v, %v", open, err)
	}
	now := time.Now()
	good, err := auth.TOTPCode(open.TOTPSecret, now)
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := auth.TOTPCode(open.TOTPSecret, now.Add(-time.Hour))
	const pw = "bob's own long password"
	if _, err := s.RedeemInvite(ctx, hash, admin.InviteAnswer{Password: pw, PasswordAgain: pw, Code: bad}); !errors.Is(err, admin.ErrWrongCode) {
		t.Errorf("wrong code: %v", err)
	}
	if _, err := s.RedeemInvite(ctx, hash, admin.InviteAnswer{Password: "short", PasswordAgain: "short", Code: good}); !errors.Is(err, admin.ErrInvalid) {
		t.Errorf("short password: %v", err)
	}
	bob, err := s.RedeemInvite(ctx, hash, admin.InviteAnswer{Password: pw, PasswordAgain: pw, Code: good})
	if err != nil || bob.Pending() {
		t.Fatalf("RedeemInvite = %+v, %v", bob, err)
	}
	if ok, _ := auth.VerifyPassword(pw, bob.PasswordHash); !ok {
		t.Error("the stored hash does not match the chosen password")
	}
	if _, err := s.RedeemInvite(ctx, hash, admin.InviteAnswer{Password: pw, PasswordAgain: pw, Code: good}); !errors.Is(err, admin.ErrInviteSpent) {
		t.Errorf("second use: %v", err)
	}
	if _, err := s.Invite(ctx, auth.Hash("vcgi_unknown")); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("unknown invite: %v", err)
	}
	if _, err := s.ReinviteAdmin(ctx, admin.Actor{Subject: "bob"}, "bob"); !errors.Is(err, admin.ErrInvalid) {
		t.Errorf("bob resetting himself: %v", err)
	}
	again, err := s.ReinviteAdmin(ctx, alice, "bob")
	if err != nil || again.Token == inv.Token || !again.Admin.Pending() {
		t.Errorf("ReinviteAdmin = %+v, %v", again, err)
	}
}
