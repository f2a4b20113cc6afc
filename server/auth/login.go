package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

// ErrLoginFailed is the one answer to a wrong username, password or code:
// which one was wrong is recorded in the audit log, not told to the caller.
var ErrLoginFailed = errors.New("wrong username, password or code")

// LockedError is returned while this address is locked out, for one
// username or for all, after too many failed logins, or while it must wait
// between attempts at a username under attack. Unknown usernames are locked
// out the same way, so a lockout does not tell which usernames exist.
type LockedError struct {
	Until time.Time
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("too many failed logins for this username from this address, or from this address: try again after %s",
		e.Until.UTC().Format("15:04:05 UTC"))
}

// ErrInvalidUsername is returned for a username that could never exist.
var ErrInvalidUsername = errors.New("a username is 1 to 64 characters: lower-case letters, digits and . _ - @, starting with a letter or digit")

// NormalizeUsername trims and lower-cases a username and checks it has the
// form every stored username has.
func NormalizeUsername(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) == 0 || len(s) > 64 {
		return "", ErrInvalidUsername
	}
	for i, c := range s {
		alnum := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		if !alnum && (i == 0 || !strings.ContainsRune("._-@", c)) {
			return "", ErrInvalidUsername
		}
	}
	return s, nil
}

// LoginLimits say when repeated failures lock out or slow down an address.
// The counts are kept in the store, so they hold across replicas.
//
// The scheme follows OWASP's advice to throttle rather than lock an
// account that anyone can name, and to lock out the attacker, not the
// user (OWASP Authentication Cheat Sheet, "Account Lockout"; OWASP "Slow
// Down Online Guessing Attacks with Device Cookies": lock out untrusted
// clients, not the account), and NIST SP 800-63B §5.2.2 (rate limiting
// that keeps an attacker from locking out the legitimate claimant):
//
//   - per address (an IPv6 /64), IPFailures failures lock that address
//     out of every username;
//   - per username *and* address, UserFailures failures lock that address
//     out of that username: the attacker's addresses are locked, the
//     administrator's are not;
//   - per username alone, failures only slow down: once a username has
//     UserThrottleFailures failures from anywhere, an address that has
//     failed for it must wait UserThrottle after its last failure before
//     its next attempt. An address that never failed for the username is
//     never held back by that username's count.
type LoginLimits struct {
	// UserFailures consecutive failures for one username from one address
	// lock that address out of that username; IPFailures from one address
	// (an IPv6 /64) lock that address out of every username.
	UserFailures, IPFailures int
	// UserThrottleFailures failures of a username, from all addresses
	// together, make every address that failed for it wait UserThrottle
	// between attempts at it. Zero means UserFailures; negative, never.
	UserThrottleFailures int
	UserThrottle         time.Duration
	// Lockout is the first lockout; every further failure doubles it, up
	// to MaxLockout.
	Lockout, MaxLockout time.Duration
	// Forget is how long after the last failure the count starts over.
	Forget time.Duration
}

// DefaultLoginLimits: 5 failures of a username from one address or 20
// from one address lock that address out for 15 minutes, then 30, 60, …
// up to a day; after 5 failures of a username from anywhere, an address
// that failed for it waits 30 seconds between attempts.
var DefaultLoginLimits = LoginLimits{UserFailures: 5, IPFailures: 20, UserThrottle: 30 * time.Second,
	Lockout: 15 * time.Minute, MaxLockout: 24 * time.Hour, Forget: 24 * time.Hour}

func (l LoginLimits) lockout(threshold int) func(int) time.Duration {
	return func(failures int) time.Duration {
		if failures < threshold {
			return 0
		}
		d := l.Lockout
		for range failures - threshold {
			if d *= 2; d >= l.MaxLockout {
				return l.MaxLockout
			}
		}
		return min(d, l.MaxLockout)
	}
}

// Login checks dashboard logins: username, argon2id password and TOTP
// code, all three required; failures are counted per address, per username
// and address, and per username (see LoginLimits), and every attempt that
// is checked is recorded in the audit log.
type Login struct {
	Store  *store.Store
	Limits LoginLimits
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// DummyArgon2 are the parameters of the hash checked for an unknown
	// username, so that it takes as long as a known one: the parameters
	// accounts are hashed with (DefaultArgon2 unless a test says so).
	DummyArgon2 Argon2Params

	// hashing bounds concurrent argon2id checks (64 MiB each) and the
	// wait for one; nil (a Login not made by NewLogin) does not bound them.
	hashing   *hashGate
	dummyOnce sync.Once
	dummy     string
}

const (
	// MaxConcurrentHashes bounds the password checks one replica runs at
	// once.
	MaxConcurrentHashes = 4
	// MaxHashWait bounds how long an attempt waits for a password check:
	// one that would wait longer is refused with a *BusyError at once.
	MaxHashWait = 2 * time.Second
	// MaxHashesPerAddress bounds the attempts of one address (an IPv6
	// /64) running or waiting for a check on one replica.
	MaxHashesPerAddress = 2
)

// NewLogin returns a Login with the default limits.
func NewLogin(st *store.Store, logger *slog.Logger) *Login {
	return &Login{Store: st, Limits: DefaultLoginLimits, Logger: logger, DummyArgon2: DefaultArgon2,
		hashing: newHashGate(MaxConcurrentHashes, MaxHashesPerAddress, MaxHashWait)}
}

// Clock is the time the login checks use (Now, or time.Now).
func (l *Login) Clock() time.Time { return l.now() }

func (l *Login) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Attempt is one login form submission.
type Attempt struct {
	Username, Password, Code string
	// RemoteAddr is the client's address (http.Request.RemoteAddr).
	RemoteAddr string
	// Reauth marks a logged-in account confirming who it is before a
	// change of its credentials: counted and locked out like a login,
	// audited as reauth_success / reauth_failure, and not a new login.
	Reauth bool
}

// IPKey is the failure-count key of a client address: the IP, or its /64
// for IPv6 (one host usually holds a whole /64).
func IPKey(remoteAddr string) string {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "ip:" + host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + ip.String()
}

// RemoteHost is the host part of an http.Request.RemoteAddr, for logs.
func RemoteHost(remoteAddr string) string {
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return h
	}
	return remoteAddr
}

// UserAddrKey is the failure-count key of a username tried from a client
// address: "user:NAME|ip:ADDR" ('|' is never in a username).
func UserAddrKey(username, remoteAddr string) string {
	return "user:" + username + "|" + IPKey(remoteAddr)
}

// loginKey is one failure count an attempt is held to.
type loginKey struct {
	key string
	// lockAt failures lock the key out (0: never, the count only
	// throttles).
	lockAt int
}

// Authenticate checks an attempt and returns the admin on success; it
// returns ErrLoginFailed, a *LockedError or a *BusyError otherwise.
func (l *Login) Authenticate(ctx context.Context, a Attempt) (store.Admin, error) {
	now := l.now()
	remote := RemoteHost(a.RemoteAddr)
	actSuccess, actFailure := "login_success", "login_failure"
	if a.Reauth {
		actSuccess, actFailure = "reauth_success", "reauth_failure"
	}
	username, uerr := NormalizeUsername(a.Username)
	actor := username
	ipKey := IPKey(a.RemoteAddr)
	keys := []loginKey{{ipKey, l.Limits.IPFailures}}
	if uerr == nil {
		keys = append(keys, loginKey{UserAddrKey(username, a.RemoteAddr), l.Limits.UserFailures}, loginKey{"user:" + username, 0})
	} else {
		actor = "(invalid username)"
	}

	// refuseIfLocked refuses an address locked out (for all usernames or
	// for this one) or that must wait before trying this username again;
	// clean reports that the address has no failures on record.
	refuseIfLocked := func() (clean bool, err error) {
		recs := make([]store.LoginFailures, len(keys))
		for i, k := range keys {
			if recs[i], err = l.Store.LoginFailuresOf(ctx, k.key); err != nil {
				return false, err
			}
		}
		var until time.Time
		clean = true
		for i, k := range keys {
			if k.lockAt == 0 {
				continue // the username's own count never locks
			}
			clean = clean && recs[i].Failures == 0
			if recs[i].Locked(now) && recs[i].LockedUntil.After(until) {
				until = recs[i].LockedUntil
			}
		}
		why := "locked"
		if uerr == nil && until.IsZero() {
			// The username is under attack and this address has failed
			// for it: it waits between attempts.
			pair, user := recs[1], recs[2]
			throttleAt := l.Limits.UserThrottleFailures
			if throttleAt == 0 {
				throttleAt = l.Limits.UserFailures
			}
			if throttleAt > 0 && user.Failures >= throttleAt && pair.Failures > 0 &&
				now.Sub(user.Updated) <= l.Limits.Forget {
				if next := pair.Updated.Add(l.Limits.UserThrottle); now.Before(next) {
					until, why = next, "throttled"
				}
			}
		}
		if until.IsZero() {
			return clean, nil
		}
		l.audit(ctx, store.AuditEntry{At: now, Actor: actor, Action: "login_refused_locked", RemoteAddr: remote},
			map[string]any{"locked_until": until.UTC(), "why": why})
		return false, &LockedError{Until: until}
	}
	clean, err := refuseIfLocked()
	if err != nil {
		return store.Admin{}, err
	}
	// Checking a password is slow and limited to a few at once, with a
	// short bound on the wait (see hashGate). Attempts that waited for
	// their turn look at the lock again once they have it, and a failure
	// is counted before the turn is given up: a burst of attempts gets no
	// more checks than the limits allow, give or take the few running at
	// once on each replica.
	if l.hashing != nil {
		release, err := l.hashing.acquire(ctx, ipKey, clean)
		if err != nil {
			return store.Admin{}, err
		}
		defer release()
		if _, err := refuseIfLocked(); err != nil {
			return store.Admin{}, err
		}
	}
	var until time.Time

	admin, reason, err := l.check(ctx, username, uerr, a, now)
	if err != nil {
		return store.Admin{}, err
	}
	if reason == "" {
		// The username's own count stays: it only slows addresses that
		// failed, and an attack on the account goes on after the
		// administrator logged in.
		if err := l.Store.ClearLoginFailures(ctx, UserAddrKey(username, a.RemoteAddr)); err != nil {
			return store.Admin{}, err
		}
		if !a.Reauth {
			if err := l.Store.AdminLoggedIn(ctx, username, now); err != nil {
				return store.Admin{}, err
			}
		}
		l.audit(ctx, store.AuditEntry{At: now, Actor: username, Action: actSuccess, Target: "admin:" + username, RemoteAddr: remote},
			map[string]any{"role": admin.Role})
		return admin, nil
	}

	l.audit(ctx, store.AuditEntry{At: now, Actor: actor, Action: actFailure, RemoteAddr: remote}, map[string]any{"reason": reason})
	var locked []string
	for _, k := range keys {
		lockout := func(int) time.Duration { return 0 }
		if k.lockAt > 0 {
			lockout = l.Limits.lockout(k.lockAt)
		}
		f, err := l.Store.RecordLoginFailure(ctx, k.key, now, l.Limits.Forget, lockout)
		if err != nil {
			return store.Admin{}, err
		}
		if k.lockAt > 0 && f.Locked(now) {
			locked = append(locked, k.key)
			if f.LockedUntil.After(until) {
				until = f.LockedUntil
			}
		}
	}
	if len(locked) > 0 {
		l.audit(ctx, store.AuditEntry{At: now, Actor: actor, Action: "login_lockout", RemoteAddr: remote},
			map[string]any{"keys": locked, "locked_until": until.UTC()})
		return store.Admin{}, &LockedError{Until: until}
	}
	return store.Admin{}, ErrLoginFailed
}

// check verifies the credentials; a non-empty reason says why they fail.
func (l *Login) check(ctx context.Context, username string, uerr error, a Attempt, now time.Time) (store.Admin, string, error) {
	var admin store.Admin
	var err error
	if uerr == nil {
		admin, err = l.Store.AdminByUsername(ctx, username)
	}
	if uerr != nil || errors.Is(err, store.ErrNotFound) {
		// Spend the time a real check takes.
		_, _ = VerifyPassword(a.Password, l.dummyHash())
		return admin, "unknown username", nil
	}
	if err != nil {
		return admin, "", err
	}
	if admin.Pending() {
		_, _ = VerifyPassword(a.Password, l.dummyHash())
		return admin, "account not set up yet (invite not used)", nil
	}
	ok, err := VerifyPassword(a.Password, admin.PasswordHash)
	if err != nil {
		return admin, "", fmt.Errorf("admin %s: %w", username, err)
	}
	switch {
	case !admin.Enabled():
		return admin, "account disabled", nil
	case !ok:
		return admin, "wrong password", nil
	}
	counter, ok := VerifyTOTP(a.Code, admin.TOTPSecret, now, admin.TOTPCounter)
	if !ok {
		if _, again := VerifyTOTP(a.Code, admin.TOTPSecret, now, -1); again {
			return admin, "TOTP code already used", nil
		}
		return admin, "wrong TOTP code", nil
	}
	// Another replica may have taken this step in the meantime.
	used, err := l.Store.UseTOTPCounter(ctx, username, counter)
	if err != nil {
		return admin, "", err
	}
	if !used {
		return admin, "TOTP code already used", nil
	}
	admin.TOTPCounter = counter
	return admin, "", nil
}

// CheckAddress refuses (with a *LockedError) an address locked out of
// every username by failed logins or failed uses of invite links, the
// public forms that anyone can try.
func (l *Login) CheckAddress(ctx context.Context, remoteAddr string) error {
	now := l.now()
	rec, err := l.Store.LoginFailuresOf(ctx, IPKey(remoteAddr))
	if err != nil {
		return err
	}
	if rec.Locked(now) {
		return &LockedError{Until: rec.LockedUntil}
	}
	return nil
}

// AddressFailed counts a failure of a public form other than the login
// (an invite link that is wrong, used or expired, a wrong code) against
// the address, like a failed login, and audits it as action with detail.
// It returns a *LockedError when the address is now locked out.
func (l *Login) AddressFailed(ctx context.Context, remoteAddr, actor, action string, detail map[string]any) error {
	now := l.now()
	l.audit(ctx, store.AuditEntry{At: now, Actor: actor, Action: action, RemoteAddr: RemoteHost(remoteAddr)}, detail)
	f, err := l.Store.RecordLoginFailure(ctx, IPKey(remoteAddr), now, l.Limits.Forget, l.Limits.lockout(l.Limits.IPFailures))
	if err != nil {
		return err
	}
	if f.Locked(now) {
		return &LockedError{Until: f.LockedUntil}
	}
	return nil
}

// HashSlot waits for one of the bounded password-hashing slots (see
// hashGate) for a request from remoteAddr, for hashing a new password; it
// returns the function that gives it back, or a *BusyError.
func (l *Login) HashSlot(ctx context.Context, remoteAddr string) (func(), error) {
	if l.hashing == nil {
		return func() {}, nil
	}
	return l.hashing.acquire(ctx, IPKey(remoteAddr), true)
}

func (l *Login) dummyHash() string {
	l.dummyOnce.Do(func() {
		p := l.DummyArgon2
		if p == (Argon2Params{}) {
			p = DefaultArgon2
		}
		l.dummy, _ = HashPasswordWith(NewPassword(), p)
	})
	return l.dummy
}

func (l *Login) audit(ctx context.Context, e store.AuditEntry, detail map[string]any) {
	if err := Audit(ctx, l.Store, e, detail); err != nil && l.Logger != nil {
		l.Logger.Error("audit log", "action", e.Action, "err", err)
	}
}

// Audit appends e to the store's audit log with detail as its JSON detail.
func Audit(ctx context.Context, st *store.Store, e store.AuditEntry, detail any) error {
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("audit %s: %w", e.Action, err)
		}
		e.Detail = b
	}
	return st.AppendAudit(ctx, e)
}
