package notify

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/localipc"
)

// The whole path for real: the service hands a finding to the IPC server,
// the per-user notifier (RunNotifier) receives it over the unix socket,
// renders it in the user's language and shows it on a private D-Bus
// session; the same finding again is held back (no storm), a changed one
// is shown, and the notifier acknowledges what it showed.
func TestServiceToNotifierToDBus(t *testing.T) {
	t.Parallel()
	addr := startSessionBus(t)
	bus := startNotificationServer(t, addr, "body")
	var mu sync.Mutex
	var shown []string
	ts := startServer(t, &localipc.Server{OnShown: func(_ localipc.Session, key string) {
		mu.Lock()
		shown = append(shown, key)
		mu.Unlock()
	}})
	svc := &Service{Server: ts.Server, Limiter: &Limiter{}}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- RunNotifier(ctx, NotifierConfig{Path: ts.path, Locale: "nl_NL.UTF-8", Session: "test", Display: newTestDisplay(t, addr), Retry: 50 * time.Millisecond})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunNotifier: %v", err)
		}
	}()
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitUntil("the notifier to connect", func() bool { return len(ts.Sessions()) == 1 })
	if s := ts.Sessions()[0]; s.Lang != "nl" {
		t.Errorf("session language %q, want nl", s.Lang)
	}

	n := zoomBlockNotice(t)
	n.PID = os.Getpid() // the app is this process: its owner's session is told
	if sessions, limited := svc.Notify(n); sessions != 1 || limited {
		t.Fatalf("Notify = %d sessions, limited %v", sessions, limited)
	}
	waitUntil("the notice on D-Bus", func() bool { return len(bus.Calls()) == 1 })
	c := bus.Calls()[0]
	if c.Summary != "Zoom Workplace is niet toegestaan" || !strings.Contains(c.Body, "wordt over 2 minuten afgesloten") || !strings.Contains(c.Body, "Jitsi Meet") {
		t.Errorf("shown %q / %q; want the Dutch block notice", c.Summary, c.Body)
	}
	waitUntil("the acknowledgement", func() bool { mu.Lock(); defer mu.Unlock(); return len(shown) == 1 && shown[0] == n.Key })

	for range 3 {
		if sessions, limited := svc.Notify(n); sessions != 0 || !limited {
			t.Errorf("the same finding again: %d sessions, limited %v; want held back", sessions, limited)
		}
	}
	n.Action = "warn"
	if _, limited := svc.Notify(n); limited {
		t.Error("a changed finding was held back")
	}
	waitUntil("the changed notice", func() bool { return len(bus.Calls()) == 2 })
	if got := len(bus.Calls()); got != 2 {
		t.Errorf("%d notifications shown, want 2", got)
	}
}
