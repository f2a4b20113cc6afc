package notify

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/agent/notify/notifytest"
)

// startNotifier runs RunNotifier against the service's socket, showing on
// the D-Bus session at addr in the locale given, until the test ends.
func startNotifier(t *testing.T, path, addr, locale string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- RunNotifier(ctx, NotifierConfig{Path: path, Locale: locale, Session: "test", Display: newTestDisplay(t, addr), Retry: 50 * time.Millisecond})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunNotifier: %v", err)
		}
	})
}

// waitUntil polls cond every 10 ms until it holds or within fails.
func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out (%s) waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The whole path for real: the service hands a finding to the IPC server,
// the per-user notifier (RunNotifier) receives it over the unix socket,
// renders it in the user's language and shows it on a private D-Bus
// session, and reports that it did: the outcome is 1 session, in Dutch.
// The same finding again is held back (no storm), a changed one is shown.
func TestServiceToNotifierToDBus(t *testing.T) {
	t.Parallel()
	addr := notifytest.StartSessionBus(t)
	bus := notifytest.StartServer(t, addr, "body")
	var mu sync.Mutex
	var shown []string
	ts := startServer(t, &localipc.Server{OnShown: func(_ localipc.Session, key string) {
		mu.Lock()
		shown = append(shown, key)
		mu.Unlock()
	}})
	svc := &Service{Server: ts.Server, Limiter: &Limiter{}}
	defer svc.Close()
	startNotifier(t, ts.path, addr, "nl_NL.UTF-8")
	waitUntil(t, "the notifier to connect", 10*time.Second, func() bool { return len(ts.Sessions()) == 1 })
	if s := ts.Sessions()[0]; s.Lang != "nl" {
		t.Errorf("session language %q, want nl", s.Lang)
	}

	n := zoomBlockNotice(t)
	n.PID = os.Getpid() // the app is this process: its owner's session is told
	if limited := svc.Notify(n); limited {
		t.Fatal("the first notice was held back")
	}
	d := nextDelivery(t, svc)
	if d.Sessions != 1 || d.Lang != "nl" || len(d.Failures) != 0 || d.Notice.Key != n.Key {
		t.Errorf("outcome %+v; want displayed in 1 session, in nl", d)
	}
	if got := len(bus.Calls()); got != 1 {
		t.Fatalf("%d notifications on D-Bus when the outcome came, want 1", got)
	}
	c := bus.Calls()[0]
	if c.Summary != "Zoom Workplace is niet toegestaan" || !strings.Contains(c.Body, "wordt over 2 minuten afgesloten") || !strings.Contains(c.Body, "Jitsi Meet") {
		t.Errorf("shown %q / %q; want the Dutch block notice", c.Summary, c.Body)
	}
	waitUntil(t, "OnShown", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(shown) == 1 && shown[0] == n.Key })

	for range 3 {
		if limited := svc.Notify(n); !limited {
			t.Error("the same finding again was not held back")
		}
	}
	n.Action = "warn"
	if limited := svc.Notify(n); limited {
		t.Error("a changed finding was held back")
	}
	if d := nextDelivery(t, svc); d.Sessions != 1 {
		t.Errorf("the changed notice: %+v; want displayed in 1 session", d)
	}
	if got := len(bus.Calls()); got != 2 {
		t.Errorf("%d notifications shown, want 2", got)
	}
}

// A display that fails (the session bus has no notification service:
// org.freedesktop.Notifications was not provided) is recorded as not
// shown, 0 sessions, with the display's reason, not as delivered.
func TestServiceRecordsFailedDisplay(t *testing.T) {
	t.Parallel()
	addr := notifytest.StartSessionBus(t) // and no notification server on it
	ts := startServer(t, &localipc.Server{})
	svc := &Service{Server: ts.Server, Limiter: &Limiter{}}
	defer svc.Close()
	startNotifier(t, ts.path, addr, "de_DE.UTF-8")
	waitUntil(t, "the notifier to connect", 10*time.Second, func() bool { return len(ts.Sessions()) == 1 })

	n := zoomBlockNotice(t)
	n.PID = os.Getpid()
	svc.Notify(n)
	d := nextDelivery(t, svc)
	if d.Sessions != 0 || d.Lang != "" || len(d.Failures) != 1 ||
		!strings.HasPrefix(d.Failures[0], `session "test": `) || !strings.Contains(d.Failures[0], "org.freedesktop.Notifications") {
		t.Errorf("outcome %+v; want 0 sessions and the display's failure", d)
	}
}

// A notifier that connects after a finding (a login after boot, a
// notifier restart) is shown the notices in force within a second,
// whatever the quiet period says; a cleared one is not shown.
func TestLateNotifierGetsNoticesInForce(t *testing.T) {
	t.Parallel()
	addr := notifytest.StartSessionBus(t)
	bus := notifytest.StartServer(t, addr, "body")
	ts := startServer(t, &localipc.Server{})
	svc := &Service{Server: ts.Server, Limiter: &Limiter{QuietPeriod: -1}} // never again by the limiter
	defer svc.Close()

	n := zoomBlockNotice(t)
	n.PID = os.Getpid()
	gone := n
	gone.Key, gone.AppID = "gone/1", "teams"
	svc.Notify(n)
	svc.Notify(gone)
	for range 2 {
		if d := nextDelivery(t, svc); d.Sessions != 0 || len(d.Failures) != 1 || !strings.Contains(d.Failures[0], "no notifier is running") {
			t.Errorf("before any notifier: %+v; want 0 sessions, no notifier running", d)
		}
	}
	svc.Clear(gone.Key) // that app exited

	connected := make(chan time.Time, 1)
	ts.AddConnectHook(func(localipc.Session) { connected <- time.Now() })
	startNotifier(t, ts.path, addr, "en_US.UTF-8")
	var at time.Time
	select {
	case at = <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the notifier did not connect")
	}
	waitUntil(t, "the notice in force on D-Bus", time.Second, func() bool { return len(bus.Calls()) >= 1 })
	if took := time.Since(at); took > time.Second {
		t.Errorf("the notice came %s after the notifier connected, want within 1 s", took)
	}
	d := nextDelivery(t, svc)
	if !d.Replayed || d.Sessions != 1 || d.Lang != "en" || d.Notice.Key != n.Key {
		t.Errorf("outcome %+v; want the notice in force replayed to 1 session", d)
	}
	if c := bus.Calls(); len(c) != 1 || c[0].Summary != "Zoom Workplace is not approved" {
		t.Errorf("shown %+v; want only the zoom notice in force, not the cleared one", c)
	}
	// The limiter still holds a repeat back: no storm for the other sessions.
	if limited := svc.Notify(n); !limited {
		t.Error("a repeat was not held back")
	}
}
