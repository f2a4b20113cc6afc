//go:build linux || darwin

package notify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/localipc"
)

// testServer is an localipc.Server listening in a fresh directory until the
// test ends.
type testServer struct {
	*localipc.Server
	path string
}

func startServer(t *testing.T, s *localipc.Server) *testServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "vcg-notify-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "notify.sock")
	if err := s.Listen(path); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{Server: s, path: path}
}

// nextDelivery returns the next outcome the service reports.
func nextDelivery(t *testing.T, svc *Service) Delivery {
	t.Helper()
	select {
	case d := <-svc.Delivered():
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the outcome of a notice")
		return Delivery{}
	}
}

// Service.Notify tells only the sessions of the user owning the app's
// process: not another user's, and nobody when the owner is unknown; what
// became of each notice is reported, with the reason when nobody saw it.
func TestServiceNotifiesOnlyTheOwner(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &localipc.Server{})
	me := os.Geteuid()
	owners := map[int]int{100: me, 200: me + 1}
	svc := &Service{Server: ts.Server, Limiter: &Limiter{}, ProcessOwner: func(pid int) (int, error) {
		uid, ok := owners[pid]
		if !ok {
			return 0, localipc.ErrNoOwner
		}
		return uid, nil
	}}
	defer svc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := localipc.Dial(ctx, ts.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello(ctx, localipc.Hello{UID: me, Lang: "en", Session: "console"}); err != nil {
		t.Fatal(err)
	}
	notice := func(key string, pid int) Notice {
		return Notice{Key: key, AppID: "zoom", Verdict: "forbidden", Action: "warn", PID: pid}
	}
	if limited := svc.Notify(notice("other-user", 200)); limited {
		t.Error("Notify about another user's app was held back")
	}
	if d := nextDelivery(t, svc); d.Sessions != 0 || len(d.Failures) != 1 || !strings.Contains(d.Failures[0], "no notifier is running") {
		t.Errorf("another user's app: %+v; want 0 sessions, no notifier running for that user", d)
	}
	svc.Notify(notice("gone", 300))
	if d := nextDelivery(t, svc); d.Sessions != 0 || len(d.Failures) != 1 || !strings.Contains(d.Failures[0], "user is unknown") {
		t.Errorf("a process without owner: %+v; want 0 sessions, the owner unknown", d)
	}
	svc.Notify(notice("mine", 100))
	got, err := c.Next(ctx)
	if err != nil || got.Key != "mine" {
		t.Fatalf("the session got %+v, %v; want only the notice about its own app", got, err)
	}
	if err := c.Ack(got.Key); err != nil {
		t.Fatal(err)
	}
	if d := nextDelivery(t, svc); d.Notice.Key != "mine" || d.Sessions != 1 || d.Lang != "en" || len(d.Failures) != 0 || d.Replayed {
		t.Errorf("my app: %+v; want displayed by 1 session in en", d)
	}
	if r := svc.Refused(); len(r) != 0 {
		t.Errorf("Refused() = %v with nothing refused", r)
	}
	if r := (&Service{}).Refused(); r != nil {
		t.Errorf("Refused() without a server = %v", r)
	}
}

// A notifier that does not answer in time, and one that reports a failed
// display: both are recorded as not shown, with the reason.
func TestServiceRecordsUnansweredAndFailed(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &localipc.Server{})
	svc := &Service{Server: ts.Server, Limiter: &Limiter{}, AnswerWait: 200 * time.Millisecond,
		ProcessOwner: func(int) (int, error) { return os.Geteuid(), nil }}
	defer svc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := localipc.Dial(ctx, ts.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello(ctx, localipc.Hello{UID: os.Geteuid(), Lang: "de", Session: "2"}); err != nil {
		t.Fatal(err)
	}
	svc.Notify(Notice{Key: "silent", AppID: "zoom", Verdict: "forbidden", Action: "warn", PID: 1})
	if _, err := c.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if d := nextDelivery(t, svc); d.Sessions != 0 || len(d.Failures) != 1 || !strings.Contains(d.Failures[0], `session "2": no answer from the notifier within 200ms`) {
		t.Errorf("unanswered: %+v; want 0 sessions, no answer within 200ms", d)
	}
	// A late answer to it is ignored, not counted for the next notice.
	if err := c.Ack("silent"); err != nil {
		t.Fatal(err)
	}
	svc.Notify(Notice{Key: "failed", AppID: "zoom", Verdict: "forbidden", Action: "warn", PID: 1})
	n, err := c.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.NotShown(n.Key, "the desktop said no\nsecond line"); err != nil {
		t.Fatal(err)
	}
	if d := nextDelivery(t, svc); d.Sessions != 0 || len(d.Failures) != 1 || d.Failures[0] != `session "2": the desktop said no second line` {
		t.Errorf("failed: %+v; want 0 sessions and the notifier's reason", d)
	}
}

// stuckDisplay never finishes a display until its context ends.
type stuckDisplay struct{}

func (stuckDisplay) Show(ctx context.Context, _ Message) error {
	<-ctx.Done()
	return ctx.Err()
}

// A display that hangs is given up after the notifier's ShowTimeout and
// reported as not shown, with the reason; the notifier goes on.
func TestNotifierReportsHungDisplay(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &localipc.Server{})
	svc := &Service{Server: ts.Server, Limiter: &Limiter{}, ProcessOwner: func(int) (int, error) { return os.Geteuid(), nil }}
	defer svc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- RunNotifier(ctx, NotifierConfig{Path: ts.path, Locale: "fr_FR", Session: "hung", Display: stuckDisplay{}, ShowTimeout: 100 * time.Millisecond})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunNotifier: %v", err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(ts.Sessions()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the notifier did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, key := range []string{"first", "second"} {
		svc.Notify(Notice{Key: key, AppID: "zoom", Verdict: "forbidden", Action: "warn", PID: 1})
		d := nextDelivery(t, svc)
		if d.Sessions != 0 || len(d.Failures) != 1 || !strings.Contains(d.Failures[0], `session "hung": the display did not finish within 100ms`) {
			t.Errorf("%s: %+v; want not shown, the display timed out", key, d)
		}
	}
}
