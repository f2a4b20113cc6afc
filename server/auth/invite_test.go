package auth_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
)

func TestInviteToken(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		token, hash := auth.NewInviteToken()
		if seen[token] || !strings.HasPrefix(token, auth.InvitePrefix) {
			t.Fatalf("token %q repeated or without its prefix", token)
		}
		seen[token] = true
		got, err := auth.ParseInviteToken(token)
		if err != nil || !bytes.Equal(got, hash) || !bytes.Equal(hash, auth.Hash(token)) {
			t.Fatalf("ParseInviteToken(%q) = %x, %v; want %x", token, got, err, hash)
		}
	}
	token, _ := auth.NewInviteToken()
	for _, bad := range []string{"", auth.InvitePrefix, token[:len(token)-1], token + "A", "vcgx_" + token[5:],
		token[:len(token)-1] + "=", token[:len(token)-1] + "/", token[:len(token)-2] + "é",
		// The last character carries 4 spare bits, always zero: only one
		// spelling of the 256 bits is accepted ('B' sets one).
		token[:len(token)-1] + "B"} {
		if _, err := auth.ParseInviteToken(bad); !errors.Is(err, auth.ErrMalformedInvite) {
			t.Errorf("ParseInviteToken(%q) = %v, want ErrMalformedInvite", bad, err)
		}
	}
}

// FuzzParseInviteToken: the invite token comes from a URL path anyone can
// send. Whatever it is, the parser does not panic, accepts only what
// NewInviteToken makes (prefix, 43 base64url characters, canonical), and
// returns the token's hash.
func FuzzParseInviteToken(f *testing.F) {
	token, _ := auth.NewInviteToken()
	for _, s := range []string{token, "", auth.InvitePrefix, token + "x", strings.ToUpper(token), "vcgi_" + strings.Repeat("A", 43),
		"vcgi_" + strings.Repeat("/", 43), "../../etc/passwd", "vcgi_\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hash, err := auth.ParseInviteToken(s)
		if err != nil {
			if !errors.Is(err, auth.ErrMalformedInvite) || hash != nil {
				t.Fatalf("ParseInviteToken(%q) = %x, %v", s, hash, err)
			}
			return
		}
		if !bytes.Equal(hash, auth.Hash(s)) || !strings.HasPrefix(s, auth.InvitePrefix) || len(s) != len(token) {
			t.Fatalf("ParseInviteToken(%q) accepted it with hash %x", s, hash)
		}
		for _, c := range s[len(auth.InvitePrefix):] {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				t.Fatalf("ParseInviteToken(%q) accepted %q", s, c)
			}
		}
	})
}

func TestCheckNewPassword(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pw, again string
		ok        bool
	}{
		{"correct horse battery", "correct horse battery", true},
		{"twelve chars", "twelve chars", true},
		{"ëëëëëëëëëëëë", "ëëëëëëëëëëëë", true},
		{"eleven char", "eleven char", false},
		{"correct horse battery", "correct horse batterY", false},
		{"", "", false},
		{strings.Repeat("x", auth.MaxPasswordLen+1), strings.Repeat("x", auth.MaxPasswordLen+1), false},
		{"carol.example", "carol.example", false},
		{"\xff\xfe invalid text", "\xff\xfe invalid text", false},
	} {
		if err := auth.CheckNewPassword(c.pw, c.again, "carol.example"); (err == nil) != c.ok {
			t.Errorf("CheckNewPassword(%.20q) = %v, want ok %v", c.pw, err, c.ok)
		}
	}
}

// An account waiting for its invite has no password: every login fails,
// as a failure (not a server error), and a re-authentication is audited as
// such without recording a login.
func TestLoginPendingAndReauth(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t, nil)
	l := e.login(e.st)
	ctx := t.Context()
	if err := e.st.CreateAdminInvite(ctx, store.Admin{ID: "adm_bob", Username: "bob", TOTPSecret: e.secret, Role: store.RoleAuditor, Created: t1},
		store.Invite{ID: "inv_1", Hash: auth.Hash("x"), Username: "bob", Created: t1, Expires: t1.Add(time.Hour)},
		store.AuditEntry{At: t1, Actor: "test", Action: "admin_invite"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Authenticate(ctx, auth.Attempt{Username: "bob", Password: "", Code: e.code(t), RemoteAddr: "192.0.2.1:1"}); !errors.Is(err, auth.ErrLoginFailed) {
		t.Errorf("login of a pending account: %v, want ErrLoginFailed", err)
	}
	e.advance(30 * time.Second)
	if _, err := l.Authenticate(ctx, auth.Attempt{Username: "alice", Password: "wrong", Code: e.code(t), RemoteAddr: "192.0.2.1:1", Reauth: true}); !errors.Is(err, auth.ErrLoginFailed) {
		t.Errorf("re-authentication with a wrong password: %v", err)
	}
	if _, err := l.Authenticate(ctx, auth.Attempt{Username: "alice", Password: "alice's password", Code: e.code(t), RemoteAddr: "192.0.2.1:1", Reauth: true}); err != nil {
		t.Errorf("re-authentication: %v", err)
	}
	if a, _ := e.st.AdminByUsername(ctx, "alice"); !a.LastLogin.IsZero() {
		t.Error("a re-authentication was recorded as a login")
	}
	got := strings.Join(actions(t, e.st), "\n")
	for _, want := range []string{`bob login_failure {"reason":"account not set up yet (invite not used)"}`, "alice reauth_failure", "alice reauth_success"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log lacks %q:\n%s", want, got)
		}
	}
}

// Failures of the public forms other than the login count against the
// address and lock it out like failed logins.
func TestAddressFailed(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t, nil)
	l := e.login(e.st)
	l.Limits.IPFailures = 2
	ctx := t.Context()
	if err := l.CheckAddress(ctx, "192.0.2.7:1"); err != nil {
		t.Fatal(err)
	}
	if err := l.AddressFailed(ctx, "192.0.2.7:1", "(invite link)", "invite_refused", map[string]any{"reason": "unknown"}); err != nil {
		t.Fatal(err)
	}
	var locked *auth.LockedError
	if err := l.AddressFailed(ctx, "192.0.2.7:2", "(invite link)", "invite_refused", nil); !errors.As(err, &locked) {
		t.Fatalf("second failure: %v, want a lockout", err)
	}
	if err := l.CheckAddress(ctx, "192.0.2.7:3"); !errors.As(err, &locked) {
		t.Errorf("CheckAddress of a locked address: %v", err)
	}
	if err := l.CheckAddress(ctx, "192.0.2.8:1"); err != nil {
		t.Errorf("another address: %v", err)
	}
	// A locked address may not log in either.
	if _, err := l.Authenticate(ctx, auth.Attempt{Username: "alice", Password: "alice's password", Code: e.code(t), RemoteAddr: "192.0.2.7:4"}); !errors.As(err, &locked) {
		t.Errorf("login from the locked address: %v", err)
	}
}
