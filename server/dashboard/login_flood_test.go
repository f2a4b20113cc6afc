package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/dashboard"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/store"
)

// floodEnv is the dashboard on a real HTTPS server over a real SQLite
// store, with metrics, and an account "admin" whose password hash is slow
// enough (16 MiB, 2 passes) that 4 checks at once are a real bottleneck.
type floodEnv struct {
	srv     *httptest.Server
	dash    *dashboard.Dashboard
	st      *store.Store
	metrics *metrics.Metrics
	secret  string
}

const floodPassword = "the real admin's password"

func newFloodEnv(t *testing.T, limits auth.LoginLimits) *floodEnv {
	t.Helper()
	te := adminapitest.New(t)
	m := metrics.New()
	te.Service.Metrics = m
	// Cheap enough that under the race detector on a loaded 2-core machine
	// a check stays well below auth.MaxHashWait (2 s): with 16 MiB and 2
	// passes the average check there took over 2 s (8 MiB and 1 pass still
	// about 2 s), and the gate rightly refused the real admin as busy too.
	// The flood's busy refusals come from the per-address bound (3 clients
	// an address, 2 checks), whatever a check costs.
	slow := auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1}
	te.Service.PasswordHashing = slow
	d, err := dashboard.New(te.API, te.API.Logger)
	if err != nil {
		t.Fatal(err)
	}
	d.Login.Limits = limits
	key, err := auth.NewTOTPKey("admin")
	if err != nil {
		t.Fatal(err)
	}
	h, err := auth.HashPasswordWith(floodPassword, slow)
	if err != nil {
		t.Fatal(err)
	}
	if err := te.Store.CreateAdmin(t.Context(), store.Admin{ID: "adm_admin", Username: "admin", PasswordHash: h,
		TOTPSecret: key.Secret(), Role: store.RoleAdmin, Created: time.Now()},
		store.AuditEntry{At: time.Now(), Actor: "system", Action: "admin_add", Target: "admin:admin"}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	d.Register(mux)
	srv := httptest.NewTLSServer(dashboard.SecurityHeaders(mux))
	t.Cleanup(srv.Close)
	return &floodEnv{srv: srv, dash: d, st: te.Store, metrics: m, secret: key.Secret()}
}

// from is a browser whose connections come from the loopback address ip
// (any of 127.0.0.0/8 works on Linux), so the server sees that address.
func (e *floodEnv) from(t *testing.T, ip string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := e.srv.Client().Transport.(*http.Transport).Clone()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr.DialContext = dialer.DialContext
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type loginResult struct {
	status     int
	retryAfter string
	body       string
	session    bool
}

// login posts the login form with the CSRF token of body (the last page
// this client got), or fetches the form first when body is "".
func (e *floodEnv) login(ctx context.Context, c *http.Client, body, username, password, code string) (loginResult, error) {
	if body == "" {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/login", nil)
		resp, err := c.Do(req)
		if err != nil {
			return loginResult{}, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		return loginResult{}, fmt.Errorf("no CSRF field in %.200s", body)
	}
	form := url.Values{"csrf": {m[1]}, "username": {username}, "password": {password}, "code": {code}}
	req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return loginResult{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return loginResult{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b), session: hasSession(resp)}, nil
}

// floodCounts are the answers the flood got.
type floodCounts struct {
	requests, unauthorized, busy, locked, other atomic.Int64
	// slowestBusy is the longest a busy refusal took, in microseconds.
	slowestBusy atomic.Int64
}

// flood sends wrong passwords for admin from 10 addresses (127.0.0.10 to
// .19), workers clients each, until ctx ends.
func (e *floodEnv) flood(ctx context.Context, t *testing.T, workers int, n *floodCounts) *sync.WaitGroup {
	var wg sync.WaitGroup
	for a := range 10 {
		for range workers {
			c := e.from(t, fmt.Sprintf("127.0.0.%d", 10+a))
			wg.Go(func() {
				body := ""
				for ctx.Err() == nil {
					start := time.Now()
					r, err := e.login(ctx, c, body, "admin", "wrong guess", "123456")
					took := time.Since(start).Microseconds()
					if err != nil {
						body = ""
						continue
					}
					body = r.body
					n.requests.Add(1)
					switch {
					case r.status == http.StatusUnauthorized:
						n.unauthorized.Add(1)
					case r.status == http.StatusTooManyRequests && r.retryAfter != "" && strings.Contains(r.body, "busy checking other logins"):
						n.busy.Add(1)
						for old := n.slowestBusy.Load(); took > old && !n.slowestBusy.CompareAndSwap(old, took); old = n.slowestBusy.Load() {
						}
					case r.status == http.StatusTooManyRequests && r.retryAfter != "":
						n.locked.Add(1)
					default:
						n.other.Add(1)
					}
				}
			})
		}
	}
	return &wg
}

func (e *floodEnv) refusedTotal(t *testing.T) float64 {
	t.Helper()
	mfs, err := e.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "vcguard_refused_total" {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func (e *floodEnv) checks(t *testing.T) int {
	t.Helper()
	n := 0
	for _, action := range []string{"login_failure", "login_success"} {
		log, err := e.st.AuditLog(t.Context(), store.AuditFilter{Action: action, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		n += len(log)
	}
	return n
}

// A flood of wrong passwords for admin from 10 addresses, with lockouts
// raised so that it never stops being checked: the password checks are
// busy, the flood's extra attempts are refused at once (429, Retry-After,
// counted in vcguard_refused_total), and the real admin on a fresh address
// logs in with password and TOTP code meanwhile.
func TestLoginFloodBusy(t *testing.T) {
	limits := auth.DefaultLoginLimits
	limits.UserFailures, limits.IPFailures, limits.UserThrottleFailures = 1_000_000, 1_000_000, -1
	e := newFloodEnv(t, limits)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var n floodCounts
	wg := e.flood(ctx, t, 3, &n)

	// Let the flood fill the checks, then log in as the real admin.
	deadline := time.Now().Add(20 * time.Second)
	for n.busy.Load() < 20 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	admin := e.from(t, "127.0.0.200")
	start := time.Now()
	r, err := e.login(ctx, admin, "", "admin", floodPassword, mustTOTP(t, e.secret))
	took := time.Since(start)
	cancel()
	wg.Wait()
	if err != nil || r.status != http.StatusSeeOther || !r.session {
		t.Fatalf("the real admin during the flood: %v, %d %.300s", err, r.status, r.body)
	}
	slowest := time.Duration(n.slowestBusy.Load()) * time.Microsecond
	t.Logf("flood: %d requests: %d wrong (checked), %d refused busy (slowest refusal %v), %d locked, %d other; admin logged in in %v",
		n.requests.Load(), n.unauthorized.Load(), n.busy.Load(), slowest, n.locked.Load(), n.other.Load(), took)
	if slowest > 10*time.Second {
		t.Errorf("a busy refusal took %v", slowest)
	}
	if n.busy.Load() == 0 {
		t.Error("no attempt of the flood was refused as busy")
	}
	if n.other.Load() != 0 {
		t.Errorf("%d answers of the flood were neither 401 nor 429 with Retry-After", n.other.Load())
	}
	// The server also counted refusals whose answers the cancelled
	// flood did not read (at most one a client).
	if got := e.refusedTotal(t); got < float64(n.busy.Load()) || got > float64(n.busy.Load()+30) {
		t.Errorf("vcguard_refused_total = %v, want the %d busy refusals (+ up to 30 unread)", got, n.busy.Load())
	}
	if took > 15*time.Second {
		t.Errorf("the real admin waited %v", took)
	}
}

// With the default limits, the flood locks out its own 10 addresses, not
// the admin: the real admin logs in from another address during the
// flood; a flood address is refused even with the right credentials; an
// address that failed for many usernames is locked out of all of them.
func TestLoginFloodLockout(t *testing.T) {
	e := newFloodEnv(t, auth.DefaultLoginLimits)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var n floodCounts
	wg := e.flood(ctx, t, 3, &n)
	deadline := time.Now().Add(20 * time.Second)
	for n.locked.Load() < 30 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	admin := e.from(t, "127.0.0.200")
	start := time.Now()
	r, err := e.login(ctx, admin, "", "admin", floodPassword, mustTOTP(t, e.secret))
	took := time.Since(start)
	cancel()
	wg.Wait()
	if err != nil || r.status != http.StatusSeeOther || !r.session {
		t.Fatalf("the real admin during the flood: %v, %d %.300s", err, r.status, r.body)
	}
	checked := e.checks(t)
	t.Logf("flood: %d requests: %d wrong (checked), %d refused busy, %d locked, %d other; %d checks in all; admin logged in in %v",
		n.requests.Load(), n.unauthorized.Load(), n.busy.Load(), n.locked.Load(), n.other.Load(), checked, took)
	// Once admin has 5 failures, a flood address that failed waits 30 s
	// between attempts, and 5 failures lock it out of admin; a few more
	// were being checked at that moment.
	if max := 10*(limitsUser+auth.MaxHashesPerAddress) + 1; checked > max {
		t.Errorf("%d password checks for the flood, want at most %d", checked, max)
	}
	if n.locked.Load() == 0 {
		t.Error("the flood's addresses were never locked out")
	}
	if f, err := e.st.LoginFailuresOf(t.Context(), "user:admin"); err != nil || f.Locked(time.Now()) || f.Failures < 10 {
		t.Errorf("admin's own count: %+v, %v; want ≥ 10 failures (one an address at least) and no lock", f, err)
	}

	// A flood address is held back from admin, even with the right
	// credentials (refused before they are checked, so the used code does
	// not matter); the message says when to come back.
	r, err = e.login(t.Context(), e.from(t, "127.0.0.10"), "", "admin", floodPassword, mustTOTP(t, e.secret))
	if err != nil || r.status != http.StatusTooManyRequests || r.session || r.retryAfter == "" || !strings.Contains(r.body, "Try again") {
		t.Errorf("right credentials from a flood address: %v, %d, Retry-After %q", err, r.status, r.retryAfter)
	}

	// Per address: 20 failures over many usernames lock the address out of
	// every username.
	c := e.from(t, "127.0.0.50")
	for i := range 20 {
		r, err := e.login(t.Context(), c, "", fmt.Sprintf("user%d", i), "x", "123456")
		want := http.StatusUnauthorized
		if i == 19 {
			want = http.StatusTooManyRequests
		}
		if err != nil || r.status != want {
			t.Fatalf("address guessing usernames, attempt %d: %v, %d, want %d", i+1, err, r.status, want)
		}
	}
	if r, err := e.login(t.Context(), c, "", "admin", floodPassword, mustTOTP(t, e.secret)); err != nil || r.status != http.StatusTooManyRequests || r.session {
		t.Errorf("right credentials from the locked address: %v, %d", err, r.status)
	}
	// The accounts and the audit log are all still there.
	if a, err := e.st.AdminByUsername(t.Context(), "admin"); err != nil || !a.Enabled() || a.LastLogin.IsZero() {
		t.Errorf("admin account after the flood: %v, %v", a, err)
	}
	if log, _ := e.st.AuditLog(t.Context(), store.AuditFilter{Action: "login_success"}); len(log) != 1 {
		t.Errorf("%d login_success entries, want 1", len(log))
	}
}

var limitsUser = auth.DefaultLoginLimits.UserFailures

func mustTOTP(t *testing.T, secret string) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
