package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/agent/notify"
	"github.com/vcguard/vcguard/agent/procwatch"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// recordingDisplay shows notices by remembering them, or fails with err.
type recordingDisplay struct {
	err   error
	mu    sync.Mutex
	shown []notify.Message
}

func (d *recordingDisplay) Show(_ context.Context, m notify.Message) error {
	if d.err != nil {
		return d.err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.shown = append(d.shown, m)
	return nil
}

func (d *recordingDisplay) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.shown)
}

// The running agent, the real notify service and IPC server, and real
// notifiers over the socket: a finding with no notifier running is
// recorded as told to 0 sessions and why; a notifier whose display fails
// is recorded as 0 sessions with the display's reason; a notifier that
// starts later is shown the finding in force within a second and that is
// recorded as displayed in 1 session.
func TestAgentRecordsWhoSawTheNotice(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	mustApply(t, a, f.signed(1, []byte("name: Warn\napps:\n  zoom: {status: forbidden}\nactions: {forbidden: warn}\n")))
	a.cfg.Processes = oneReport{[]procwatch.Process{proc(100, "zoom", 10)}}
	a.cfg.Parent = func(int32) (int32, error) { return 1, nil }

	srv := &localipc.Server{}
	path := filepath.Join(shortDir(t), "notify.sock")
	if err := srv.Listen(path); err != nil {
		t.Fatal(err)
	}
	svc := &notify.Service{Server: srv, Limiter: &notify.Limiter{}, ProcessOwner: func(int) (int, error) { return os.Geteuid(), nil }}
	a.cfg.Notifier = svc
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait(); svc.Close() }()
	wg.Go(func() {
		if err := srv.Serve(ctx); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	wg.Go(func() {
		if err := a.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	notifier := func(session string, d notify.Display) {
		wg.Go(func() {
			if err := notify.RunNotifier(ctx, notify.NotifierConfig{Path: path, Locale: "de_DE.UTF-8", Session: session, Display: d, Retry: 50 * time.Millisecond}); err != nil {
				t.Errorf("RunNotifier: %v", err)
			}
		})
	}
	var seq uint64
	next := func(what string, within time.Duration) *vcguardv1.UserNotified {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			for _, ev := range a.out.Pending(seq, 100) {
				seq = ev.GetSeq()
				if n := ev.GetUserNotified(); n != nil {
					return n
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no user_notified for %s within %s", what, within)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	if n := next("the finding", 10*time.Second); n.GetAppId() != "zoom" || n.GetSessions() != 0 ||
		len(n.GetFailures()) != 1 || !strings.Contains(n.GetFailures()[0], "no notifier is running") {
		t.Errorf("with no notifier: %v; want 0 sessions, no notifier running", n)
	}

	// A notifier whose desktop has no notification service.
	notifier("broken", &recordingDisplay{err: errors.New("dbus: org.freedesktop.Notifications was not provided by any .service files")})
	if n := next("the broken notifier", 10*time.Second); n.GetSessions() != 0 || !n.GetReplayed() || len(n.GetFailures()) != 1 ||
		!strings.Contains(n.GetFailures()[0], `session "broken": dbus: org.freedesktop.Notifications was not provided`) {
		t.Errorf("failed display: %v; want 0 sessions and the display's reason", n)
	}

	// A notifier that starts later, in a working session.
	d := &recordingDisplay{}
	connected := make(chan time.Time, 1)
	srv.AddConnectHook(func(s localipc.Session) {
		if s.Session == "late" {
			connected <- time.Now()
		}
	})
	notifier("late", d)
	at := <-connected
	for d.count() == 0 {
		if time.Since(at) > time.Second {
			t.Fatal("the finding in force was not shown within 1 s of the notifier connecting")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := next("the late notifier", 10*time.Second); n.GetSessions() != 1 || n.GetLang() != "de" || !n.GetReplayed() || len(n.GetFailures()) != 0 {
		t.Errorf("late notifier: %v; want displayed in 1 session, in de", n)
	}
}
