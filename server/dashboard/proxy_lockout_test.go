package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/dashboard"
	"github.com/vcguard/vcguard/server/proxyaddr"
	"github.com/vcguard/vcguard/server/store"
)

// forwardedAs sends every request with X-Forwarded-For set, as a reverse
// proxy in front of the server does.
type forwardedAs struct {
	base   http.RoundTripper
	client string
}

func (f forwardedAs) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.client)
	return f.base.RoundTrip(r)
}

// Behind a trusted reverse proxy (--trusted-proxies), one client's failed
// logins lock out that client only, not everyone behind the proxy; the
// audit log names the client; a peer that is not a trusted proxy cannot
// choose its address with the header.
func TestLockoutBehindTrustedProxy(t *testing.T) {
	e := newFloodEnv(t, auth.DefaultLoginLimits)
	trusted, err := proxyaddr.Parse("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.dash.Register(mux)
	srv := httptest.NewTLSServer(trusted.Handler(dashboard.SecurityHeaders(mux)))
	t.Cleanup(srv.Close)
	e.srv = srv
	via := func(client string) *http.Client {
		c := e.from(t, "127.0.0.1") // the proxy
		c.Transport = forwardedAs{c.Transport, client}
		return c
	}
	ctx := t.Context()
	attacker := via("203.0.113.1")
	locked := false
	for i := range 30 {
		r, err := e.login(ctx, attacker, "", "user"+strings.Repeat("x", i%3), "wrong", "000000")
		if err != nil {
			t.Fatal(err)
		}
		if r.status == http.StatusTooManyRequests {
			locked = true
			break
		}
	}
	if !locked {
		t.Fatal("30 failed logins from one client behind the proxy did not lock it out")
	}
	r, err := e.login(ctx, via("203.0.113.2"), "", "admin", floodPassword, mustTOTP(t, e.secret))
	if err != nil || r.status != http.StatusSeeOther || !r.session {
		t.Fatalf("another client behind the same proxy: %v, %d %.300s; want logged in", err, r.status, r.body)
	}
	log, err := e.st.AuditLog(ctx, store.AuditFilter{Action: "login_failure"})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) == 0 || log[0].RemoteAddr != "203.0.113.1" {
		t.Errorf("failed logins audited from %+v, want 203.0.113.1 (the client, not the proxy)", log)
	}

	// Not a trusted proxy: the header is not believed.
	spoof := e.from(t, "127.0.0.2")
	spoof.Transport = forwardedAs{spoof.Transport, "198.51.100.77"}
	if _, err := e.login(ctx, spoof, "", "nobody", "wrong", "000000"); err != nil {
		t.Fatal(err)
	}
	log, err = e.st.AuditLog(ctx, store.AuditFilter{Action: "login_failure"})
	if err != nil {
		t.Fatal(err)
	}
	if log[0].RemoteAddr != "127.0.0.2" {
		t.Errorf("a login from an untrusted peer with a forged header was audited from %s, want 127.0.0.2", log[0].RemoteAddr)
	}
}
