//go:build linux || darwin

package notify

import (
	"context"
	"os"
	"path/filepath"
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

// Service.Notify tells only the sessions of the user owning the app's
// process: not another user's, and nobody when the owner is unknown.
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
	if n, limited := svc.Notify(notice("other-user", 200)); n != 0 || limited {
		t.Errorf("Notify about another user's app reached %d sessions (limited %v), want 0", n, limited)
	}
	if n, _ := svc.Notify(notice("gone", 300)); n != 0 {
		t.Errorf("Notify about a process without owner reached %d sessions, want 0", n)
	}
	if n, _ := svc.Notify(notice("mine", 100)); n != 1 {
		t.Errorf("Notify about my app reached %d sessions, want 1", n)
	}
	if got, err := c.Next(ctx); err != nil || got.Key != "mine" {
		t.Errorf("the session got %+v, %v; want only the notice about its own app", got, err)
	}
	if r := svc.Refused(); len(r) != 0 {
		t.Errorf("Refused() = %v with nothing refused", r)
	}
	if r := (&Service{}).Refused(); r != nil {
		t.Errorf("Refused() without a server = %v", r)
	}
}
