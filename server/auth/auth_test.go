package auth_test

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pquerna/otp/totp"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
)

// cheap are argon2id parameters that keep tests fast (with -race too).
var cheap = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}

var phcForm = regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=3,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashPasswordDefault(t *testing.T) {
	t.Parallel()
	h, err := auth.HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !phcForm.MatchString(h) {
		t.Errorf("hash %q is not an argon2id PHC string with the default parameters", h)
	}
	if ok, err := auth.VerifyPassword("correct horse battery staple", h); err != nil || !ok {
		t.Errorf("VerifyPassword(right) = %v, %v", ok, err)
	}
	h2, _ := auth.HashPassword("correct horse battery staple")
	if h2 == h {
		t.Error("two hashes of one password are equal: no random salt")
	}
}

func TestVerifyPassword(t *testing.T) {
	t.Parallel()
	h, err := auth.HashPasswordWith("s3cret password", cheap)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"s3cret password", true},
		{"s3cret passwore", false},
		{"S3cret password", false},
		{"", false},
		{"s3cret password ", false},
		{strings.Repeat("x", auth.MaxPasswordLen+1), false},
	} {
		if ok, err := auth.VerifyPassword(tc.pw, h); err != nil || ok != tc.want {
			t.Errorf("VerifyPassword(%.20q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	parts := strings.Split(h, "$")
	for name, bad := range map[string]string{
		"empty":          "",
		"argon2i":        strings.Replace(h, "argon2id", "argon2i", 1),
		"version 16":     strings.Replace(h, "v=19", "v=16", 1),
		"missing t":      strings.Join([]string{"", parts[1], parts[2], "m=64,p=1", parts[4], parts[5]}, "$"),
		"repeated m":     strings.Join([]string{"", parts[1], parts[2], "m=64,m=64,t=1", parts[4], parts[5]}, "$"),
		"huge memory":    strings.Join([]string{"", parts[1], parts[2], "m=4294967295,t=1,p=1", parts[4], parts[5]}, "$"),
		"zero time":      strings.Join([]string{"", parts[1], parts[2], "m=64,t=0,p=1", parts[4], parts[5]}, "$"),
		"leading zero":   strings.Join([]string{"", parts[1], parts[2], "m=064,t=1,p=1", parts[4], parts[5]}, "$"),
		"bad salt":       strings.Join([]string{"", parts[1], parts[2], parts[3], "!!!", parts[5]}, "$"),
		"short hash":     strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"extra field":    h + "$x",
		"bcrypt":         "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"sha256 of pass": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
	} {
		if ok, err := auth.VerifyPassword("s3cret password", bad); !errors.Is(err, auth.ErrMalformedHash) || ok {
			t.Errorf("%s: VerifyPassword = %v, %v; want ErrMalformedHash", name, ok, err)
		}
	}
	if _, err := auth.HashPasswordWith("x", auth.Argon2Params{}); err == nil {
		t.Error("HashPasswordWith zero parameters succeeded")
	}
}

func FuzzVerifyPasswordHash(f *testing.F) {
	h, _ := auth.HashPasswordWith("pw", cheap)
	f.Add(h)
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, phc string) {
		// Never panics, never accepts a malformed hash, and never runs
		// an expensive hash for a hostile one.
		if strings.Contains(phc, "m=") && !strings.Contains(phc, "m=8,") && !strings.Contains(phc, "m=64,") {
			return
		}
		ok, err := auth.VerifyPassword("pw", phc)
		if err != nil && ok {
			t.Fatalf("VerifyPassword(%q) = true with error %v", phc, err)
		}
	})
}

// t1 is a fixed instant: TOTP step 59000000.
var t1 = time.Unix(59000000*auth.TOTPPeriod, 0).UTC()

func TestTOTP(t *testing.T) {
	t.Parallel()
	key, err := auth.NewTOTPKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(key.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || q.Get("issuer") != "vcguard" || q.Get("secret") != key.Secret() ||
		q.Get("period") != "30" || q.Get("digits") != "6" || q.Get("algorithm") != "SHA1" || !strings.Contains(u.Path, "alice") {
		t.Errorf("otpauth URL %s", key.URL())
	}
	if again, err := auth.TOTPURL("alice", key.Secret()); err != nil || again != key.URL() {
		t.Errorf("TOTPURL = %q, %v; want %q", again, err, key.URL())
	}
	if _, err := auth.TOTPURL("alice", "not base32!"); err == nil {
		t.Error("TOTPURL accepted a broken secret")
	}
	secret := key.Secret()
	// Codes computed independently with pquerna/otp's totp package.
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	step := auth.TOTPCounter(t1)
	if mine, _ := auth.TOTPCode(secret, t1); mine != code(t1) {
		t.Errorf("TOTPCode = %s, want %s", mine, code(t1))
	}
	for _, tc := range []struct {
		name string
		code string
		last int64
		want int64 // 0: refused
	}{
		{"now", code(t1), 0, step},
		{"previous step", code(t1.Add(-30 * time.Second)), 0, step - 1},
		{"next step", code(t1.Add(30 * time.Second)), 0, step + 1},
		{"two steps back", code(t1.Add(-60 * time.Second)), 0, 0},
		{"two steps ahead", code(t1.Add(60 * time.Second)), 0, 0},
		{"used already", code(t1), step, 0},
		{"an older step after a newer one was used", code(t1.Add(-30 * time.Second)), step, 0},
		{"next step after this one was used", code(t1.Add(30 * time.Second)), step, step + 1},
		{"five digits", code(t1)[:5], 0, 0},
		{"seven digits", code(t1) + "0", 0, 0},
		{"not digits", "12a456", 0, 0},
		{"empty", "", 0, 0},
	} {
		got, ok := auth.VerifyTOTP(tc.code, secret, t1, tc.last)
		if ok != (tc.want != 0) || got != tc.want {
			t.Errorf("%s: VerifyTOTP = %d, %v; want %d", tc.name, got, ok, tc.want)
		}
	}
	if _, ok := auth.VerifyTOTP("123456", "@@@", t1, 0); ok {
		t.Error("a broken secret verified")
	}
}

func TestNormalizeUsername(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"alice": "alice", " Alice\n": "alice", "it.ops-1@corp": "it.ops-1@corp", "a": "a",
		"": "", ".alice": "", "al ice": "", "al:ice": "", "tøken": "", strings.Repeat("a", 65): "",
		"token:tok_1": "", "ALICE_B": "alice_b",
	} {
		got, err := auth.NormalizeUsername(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("NormalizeUsername(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestIPKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.1:5555":               "ip:192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443":   "ip:2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:1":     "ip:2001:db8:1:2::/64",
		"[::ffff:192.0.2.9]:80":        "ip:192.0.2.9",
		"192.0.2.1":                    "ip:192.0.2.1",
		"@":                            "ip:@",
		"[fe80::1%eth0]:22":            "ip:fe80::/64",
		"[2001:db8:1:3::1]:443":        "ip:2001:db8:1:3::/64",
		"unix-socket-peer-description": "ip:unix-socket-peer-description",
	} {
		if got := auth.IPKey(in); got != want {
			t.Errorf("IPKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// loginEnv is a Login over a real SQLite store, at a clock the test moves.
type loginEnv struct {
	st     *store.Store
	mu     sync.Mutex
	now    time.Time
	secret string
}

func (e *loginEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *loginEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func (e *loginEnv) login(st *store.Store) *auth.Login {
	l := auth.NewLogin(st, slog.New(slog.DiscardHandler))
	l.Now, l.DummyArgon2 = e.clock, cheap
	return l
}

func (e *loginEnv) code(t *testing.T) string {
	t.Helper()
	c, err := totp.GenerateCode(e.secret, e.clock())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newLoginEnv(t *testing.T, st *store.Store) *loginEnv {
	t.Helper()
	if st == nil {
		var err error
		st, err = store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "vcguard.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
	}
	key, err := auth.NewTOTPKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	h, err := auth.HashPasswordWith("alice's password", cheap)
	if err != nil {
		t.Fatal(err)
	}
	e := &loginEnv{st: st, now: t1, secret: key.Secret()}
	if err := st.CreateAdmin(t.Context(), store.Admin{ID: "adm_alice", Username: "alice", PasswordHash: h, TOTPSecret: key.Secret(),
		Role: store.RoleAnalyst, Created: t1}, store.AuditEntry{At: t1, Actor: "test", Action: "admin_add"}); err != nil {
		t.Fatal(err)
	}
	return e
}

func actions(t *testing.T, st *store.Store) []string {
	t.Helper()
	entries, err := st.AuditLog(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		out = append(out, fmt.Sprintf("%s %s %s", e.Actor, e.Action, e.Detail))
	}
	return out
}

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t, nil)
	l := e.login(e.st)
	l.Limits.UserFailures = 100 // lockout and throttling have their own tests
	ctx := t.Context()
	const addr = "192.0.2.10:40000"

	for name, a := range map[string]auth.Attempt{
		"wrong password":    {Username: "alice", Password: "alice's passwore", Code: e.code(t)},
		"wrong code":        {Username: "alice", Password: "alice's password", Code: "000000"},
		"no code":           {Username: "alice", Password: "alice's password"},
		"no password":       {Username: "alice", Code: e.code(t)},
		"unknown user":      {Username: "mallory", Password: "alice's password", Code: e.code(t)},
		"malformed user":    {Username: "ali ce", Password: "alice's password", Code: e.code(t)},
		"code of long ago":  {Username: "alice", Password: "alice's password", Code: mustCode(t, e.secret, t1.Add(-time.Hour))},
		"code of the other": {Username: "alice", Password: "alice's password", Code: mustCode(t, "JBSWY3DPEHPK3PXP", t1)},
	} {
		a.RemoteAddr = addr
		if _, err := l.Authenticate(ctx, a); !errors.Is(err, auth.ErrLoginFailed) {
			t.Errorf("%s: %v, want ErrLoginFailed", name, err)
		}
	}
	// Case and spaces of the username do not matter.
	a := auth.Attempt{Username: " Alice ", Password: "alice's password", Code: e.code(t), RemoteAddr: addr}
	admin, err := l.Authenticate(ctx, a)
	if err != nil || admin.Username != "alice" || admin.Role != store.RoleAnalyst {
		t.Fatalf("right credentials: %v, %v", admin, err)
	}
	stored, _ := e.st.AdminByUsername(ctx, "alice")
	if !stored.LastLogin.Equal(t1) || stored.TOTPCounter != auth.TOTPCounter(t1) {
		t.Errorf("after login: last login %v, TOTP step %d", stored.LastLogin, stored.TOTPCounter)
	}
	// The same code again, within its window: refused.
	e.advance(10 * time.Second)
	if _, err := l.Authenticate(ctx, a); !errors.Is(err, auth.ErrLoginFailed) {
		t.Errorf("the same code twice: %v, want ErrLoginFailed", err)
	}
	// The success cleared alice's count of failures from this address,
	// not the address's nor alice's from everywhere.
	f, _ := e.st.LoginFailuresOf(ctx, auth.UserAddrKey("alice", addr))
	if f.Failures != 1 {
		t.Errorf("alice's failures from the address after a success and one reuse = %d, want 1", f.Failures)
	}
	if f, _ := e.st.LoginFailuresOf(ctx, "user:alice"); f.Failures != 7 || f.Locked(e.clock()) {
		t.Errorf("alice's failures from everywhere = %+v, want 7, not locked", f)
	}
	ipf, _ := e.st.LoginFailuresOf(ctx, auth.IPKey(addr))
	if ipf.Failures != 9 {
		t.Errorf("failures of the address = %d, want 9 (a success does not clear them)", ipf.Failures)
	}
	want := []string{
		"alice login_success {\"role\":\"analyst\"}",
		"alice login_failure {\"reason\":\"TOTP code already used\"}",
	}
	// The first entry is the account's creation (loginEnv), audited in
	// its transaction like every change.
	got := actions(t, e.st)
	if len(got) != 11 || got[0] != "test admin_add {}" || strings.Join(got[9:], "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant it to end with\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, reason := range []string{"wrong password", "wrong TOTP code", "unknown username", "(invalid username) login_failure"} {
		if !strings.Contains(strings.Join(got, "\n"), reason) {
			t.Errorf("audit log does not record %q", reason)
		}
	}
	// The next step's code works.
	e.advance(30 * time.Second)
	a.Code = e.code(t)
	if _, err := l.Authenticate(ctx, a); err != nil {
		t.Errorf("next step: %v", err)
	}

	// A disabled account cannot log in, even with everything right.
	if err := e.st.DisableAdmin(ctx, "alice", e.clock(), store.AuditEntry{At: e.clock(), Actor: "test", Action: "admin_disable"}); err != nil {
		t.Fatal(err)
	}
	e.advance(30 * time.Second)
	a.Code = e.code(t)
	if _, err := l.Authenticate(ctx, a); !errors.Is(err, auth.ErrLoginFailed) {
		t.Errorf("disabled account: %v", err)
	}
	if got := actions(t, e.st); !strings.Contains(got[len(got)-1], "account disabled") {
		t.Errorf("last audit entry %q", got[len(got)-1])
	}
}

func mustCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Lockout: 5 failures of a username from one address lock that address
// out of it for 15 minutes, the next failure for 30; another replica (a
// second Login on the same database) sees the same lock; the right
// credentials from another address still log in; an unknown username is
// locked out the same way.
func TestLoginLockout(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t, nil)
	l0 := e.login(e.st)
	l0.Limits.UserThrottleFailures = -1 // throttling has its own test
	ctx := t.Context()
	replicaA, replicaB := l0, e.login(e.st)
	replicaB.Limits = l0.Limits
	const attacker = "192.0.2.66:1000"
	wrong := auth.Attempt{Username: "alice", Password: "guess", Code: "123456", RemoteAddr: attacker}
	for i := range 5 {
		l := replicaA
		if i%2 == 1 {
			l = replicaB
		}
		_, err := l.Authenticate(ctx, wrong)
		var locked *auth.LockedError
		switch {
		case i < 4 && !errors.Is(err, auth.ErrLoginFailed):
			t.Fatalf("failure %d: %v", i+1, err)
		case i == 4 && (!errors.As(err, &locked) || !locked.Until.Equal(t1.Add(15*time.Minute))):
			t.Fatalf("failure 5: %v, want locked until %v", err, t1.Add(15*time.Minute))
		}
	}
	right := auth.Attempt{Username: "alice", Password: "alice's password", Code: e.code(t), RemoteAddr: attacker}
	var locked *auth.LockedError
	if _, err := replicaB.Authenticate(ctx, right); !errors.As(err, &locked) {
		t.Fatalf("right credentials from the locked address: %v", err)
	}
	if !strings.Contains(locked.Error(), "try again after") {
		t.Errorf("message %q", locked.Error())
	}
	// The refused attempt did not use up the code.
	if a, _ := e.st.AdminByUsername(ctx, "alice"); a.TOTPCounter != 0 {
		t.Errorf("a locked-out attempt used TOTP step %d", a.TOTPCounter)
	}
	// The same address may still try another username (its own count is
	// below IPFailures).
	if _, err := replicaA.Authenticate(ctx, auth.Attempt{Username: "bob", Password: "x", Code: "123456", RemoteAddr: attacker}); !errors.Is(err, auth.ErrLoginFailed) {
		t.Errorf("another username from the address: %v, want ErrLoginFailed", err)
	}
	// Alice from her own address is not locked out.
	right.RemoteAddr = "198.51.100.1:1"
	if _, err := replicaB.Authenticate(ctx, right); err != nil {
		t.Fatalf("right credentials from another address while the attacker is locked: %v", err)
	}
	e.advance(15 * time.Minute)
	if _, err := replicaA.Authenticate(ctx, wrong); !errors.As(err, &locked) || !locked.Until.Equal(e.clock().Add(30*time.Minute)) {
		t.Fatalf("first failure after the lockout: %v, want a 30-minute lockout", err)
	}
	e.advance(30 * time.Minute)
	right.RemoteAddr = attacker
	right.Code = e.code(t)
	if _, err := replicaB.Authenticate(ctx, right); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	// The success cleared the count of this address: four more failures do
	// not lock.
	for range 4 {
		if _, err := replicaA.Authenticate(ctx, wrong); !errors.Is(err, auth.ErrLoginFailed) {
			t.Fatalf("after a success: %v", err)
		}
	}
	log := strings.Join(actions(t, e.st), "\n")
	for _, want := range []string{"alice login_lockout", "alice login_refused_locked"} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q:\n%s", want, log)
		}
	}

	// An unknown username is locked out like a known one.
	ghost := auth.Attempt{Username: "ghost", Password: "x", Code: "123456", RemoteAddr: "203.0.113.2:1"}
	var err error
	for range 5 {
		_, err = replicaA.Authenticate(ctx, ghost)
	}
	if !errors.As(err, &locked) {
		t.Errorf("5 failures of an unknown username: %v, want a lockout", err)
	}
}

// Nobody can lock out the administrator: failures of alice from many
// addresses lock out those addresses and make them wait between attempts;
// alice from an address that never failed logs in at once.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t, nil)
	l := e.login(e.st)
	ctx := t.Context()
	var locked *auth.LockedError
	// 4 failures each from 10 addresses: 40 failures of alice, no lockout.
	wrong := func(i int) error {
		_, err := l.Authenticate(ctx, auth.Attempt{Username: "alice", Password: "guess", Code: "123456", RemoteAddr: fmt.Sprintf("192.0.2.%d:1000", i+1)})
		return err
	}
	for round := range 4 {
		for i := range 10 {
			// In round 0, addresses 5 to 9 try after alice has 5 failures:
			// they never failed, so they are not held back.
			if err := wrong(i); !errors.Is(err, auth.ErrLoginFailed) {
				t.Fatalf("round %d, address %d: %v, want ErrLoginFailed", round, i, err)
			}
		}
		for i := range 10 {
			// Alice is under attack: an address that failed waits 30 s.
			if err := wrong(i); !errors.As(err, &locked) || !locked.Until.Equal(e.clock().Add(30*time.Second)) {
				t.Fatalf("round %d, address %d, again at once: %v, want a wait of 30 s", round, i, err)
			}
		}
		e.advance(30 * time.Second)
	}
	if f, _ := e.st.LoginFailuresOf(ctx, "user:alice"); f.Failures != 40 || f.Locked(e.clock()) {
		t.Errorf("alice's count = %+v, want 40 failures and no lock", f)
	}
	// The fifth failure of each address locks it out of alice.
	for i := range 10 {
		addr := fmt.Sprintf("192.0.2.%d:1000", i+1)
		if _, err := l.Authenticate(ctx, auth.Attempt{Username: "alice", Password: "guess", Code: "123456", RemoteAddr: addr}); !errors.As(err, &locked) ||
			locked.Until.Sub(e.clock()) != 15*time.Minute {
			t.Fatalf("address %d, fifth failure: %v, want a 15-minute lockout", i, err)
		}
	}
	// Alice, from her own address, right away.
	if _, err := l.Authenticate(ctx, auth.Attempt{Username: "alice", Password: "alice's password", Code: e.code(t), RemoteAddr: "198.51.100.7:443"}); err != nil {
		t.Fatalf("alice from a fresh address during the attack: %v", err)
	}
	// From her own address, a typo makes her wait 30 s, not 15 minutes.
	e.advance(30 * time.Second)
	mine := "198.51.100.7:443"
	if _, err := l.Authenticate(ctx, auth.Attempt{Username: "alice", Password: "typo", Code: e.code(t), RemoteAddr: mine}); !errors.Is(err, auth.ErrLoginFailed) {
		t.Fatalf("alice's typo: %v", err)
	}
	if _, err := l.Authenticate(ctx, auth.Attempt{Username: "alice", Password: "alice's password", Code: e.code(t), RemoteAddr: mine}); !errors.As(err, &locked) {
		t.Fatalf("alice right after her typo: %v, want a short wait", err)
	}
	e.advance(31 * time.Second)
	if _, err := l.Authenticate(ctx, auth.Attempt{Username: "alice", Password: "alice's password", Code: e.code(t), RemoteAddr: mine}); err != nil {
		t.Fatalf("alice after the wait: %v", err)
	}
}

// One address guessing many usernames is locked out after IPFailures.
func TestLoginLockoutByAddress(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t, nil)
	l := e.login(e.st)
	l.Limits.IPFailures = 3
	ctx := t.Context()
	for i := range 3 {
		_, err := l.Authenticate(ctx, auth.Attempt{Username: fmt.Sprintf("user%d", i), Password: "x", Code: "123456", RemoteAddr: "[2001:db8::1]:5"})
		var locked *auth.LockedError
		if (i < 2) != errors.Is(err, auth.ErrLoginFailed) || (i == 2 && !errors.As(err, &locked)) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	// Another host in the same /64: locked too. Alice from elsewhere: fine.
	right := auth.Attempt{Username: "alice", Password: "alice's password", Code: e.code(t), RemoteAddr: "[2001:db8::2]:5"}
	var locked *auth.LockedError
	if _, err := l.Authenticate(ctx, right); !errors.As(err, &locked) {
		t.Errorf("same /64: %v, want locked", err)
	}
	right.RemoteAddr = "[2001:db8:0:1::2]:5"
	if _, err := l.Authenticate(ctx, right); err != nil {
		t.Errorf("another /64: %v", err)
	}
}

// Two replicas given the same code at once: exactly one logs in.
func TestLoginCodeOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t, nil)
	ctx := t.Context()
	a := auth.Attempt{Username: "alice", Password: "alice's password", Code: e.code(t), RemoteAddr: "192.0.2.1:1"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 8 {
		l := e.login(e.st)
		wg.Go(func() {
			if _, err := l.Authenticate(ctx, a); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("%d logins with one code, want 1", ok)
	}
}

// The same on PostgreSQL, where replicas really are separate processes
// sharing one database: concurrent failures from one address on two
// replicas lock that address out of alice; alice from elsewhere logs in.
func TestLoginPostgres(t *testing.T) {
	dsn := os.Getenv("VCGUARD_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("VCGUARD_TEST_POSTGRES is not set")
	}
	t.Parallel()
	st := postgresStore(t, dsn)
	e := newLoginEnv(t, st)
	ctx := t.Context()
	replicas := []*auth.Login{e.login(st), e.login(st)}
	wrong := auth.Attempt{Username: "alice", Password: "guess", Code: "123456", RemoteAddr: "192.0.2.1:1"}
	// Five rounds of two at once, one on each replica: each replica's gate
	// lets an address hold two places, so every attempt is checked (more
	// at once would be refused as busy, unchecked and uncounted).
	for range 5 {
		var wg sync.WaitGroup
		for _, r := range replicas {
			wg.Go(func() { _, _ = r.Authenticate(ctx, wrong) })
		}
		wg.Wait()
	}
	f, err := st.LoginFailuresOf(ctx, auth.UserAddrKey("alice", wrong.RemoteAddr))
	if err != nil || f.Failures < 5 || !f.Locked(e.clock()) {
		t.Errorf("after 10 concurrent failures: %+v, %v", f, err)
	}
	if f, err := st.LoginFailuresOf(ctx, "user:alice"); err != nil || f.Failures < 5 || f.Locked(e.clock()) {
		t.Errorf("alice's own count: %+v, %v; want counted, never locked", f, err)
	}
	right := auth.Attempt{Username: "alice", Password: "alice's password", Code: e.code(t), RemoteAddr: "198.51.100.1:1"}
	if _, err := replicas[1].Authenticate(ctx, right); err != nil {
		t.Errorf("alice from another address: %v", err)
	}
}

// postgresStore opens a store in a schema of its own, dropped at the end.
func postgresStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	schema := "t_" + strings.ToLower(rand.Text()[:16])
	if _, err := db.ExecContext(t.Context(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	st, err := store.OpenPostgres(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// A burst of concurrent attempts from a few addresses gets no more
// password and code checks than the lockout allows, give or take the few
// checked at once: waiting attempts look at the lock again when their turn
// comes, and an address has at most MaxHashesPerAddress places in the
// queue (the others are refused at once as busy).
func TestLoginLockoutBurst(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t, nil)
	l := e.login(e.st)
	ctx := t.Context()
	var wg sync.WaitGroup
	var mu sync.Mutex
	busy := 0
	const addrs = 3
	for i := range 60 {
		wg.Go(func() {
			_, err := l.Authenticate(ctx, auth.Attempt{Username: "alice", Password: "guess", Code: "123456", RemoteAddr: fmt.Sprintf("192.0.2.%d:1000", i%addrs+1)})
			var b *auth.BusyError
			if errors.As(err, &b) {
				mu.Lock()
				busy++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	checked := 0
	for _, a := range actions(t, e.st) {
		if strings.Contains(a, " login_failure ") {
			checked++
		}
	}
	if max := addrs * (l.Limits.UserFailures + auth.MaxHashesPerAddress); checked > max {
		t.Errorf("%d attempts of a burst of 60 from %d addresses were checked; the lockout allows %d each (+ %d at once)",
			checked, addrs, l.Limits.UserFailures, auth.MaxHashesPerAddress)
	}
	t.Logf("%d of 60 concurrent attempts were checked, %d refused as busy", checked, busy)
}
