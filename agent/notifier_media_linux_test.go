package agent

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/agent/notify"
)

// shortDir is a fresh directory for a socket (socket paths are limited to
// ~104 bytes), mode 0755.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vcg-agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// nopDisplay shows nothing.
type nopDisplay struct{}

func (nopDisplay) Show(context.Context, notify.Message) error { return nil }

// mediaProbe is a MediaProbe returning what it is set to.
type mediaProbe struct {
	mu    sync.Mutex
	uses  []devices.Use
	calls int
}

func (p *mediaProbe) set(us []devices.Use) {
	p.mu.Lock()
	p.uses = us
	p.mu.Unlock()
}

// probe is the notifier's MediaProbe as main wires it: the devices'
// uses, converted for the report.
func (p *mediaProbe) probe(context.Context) ([]localipc.MediaUse, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	ms, skipped := IPCMedia(p.uses)
	return ms, skipped, nil
}

// The whole path: the notifier's probe sees the camera, RunNotifier
// reports it over the real socket, the service's OnMedia hands it to the
// devices Watcher as the session's uid, and the Watcher's Run emits it;
// when the probe sees nothing, or the notifier goes away, the camera is
// off at once.
func TestNotifierMediaToWatcher(t *testing.T) {
	t.Parallel()
	empty := t.TempDir() // no processes and no user sessions: only reports
	w := devices.New(devices.Config{ProcRoot: empty, RunUserDir: empty, PollInterval: time.Hour})
	srv := &localipc.Server{ProcessOwner: func(int) (int, error) { return os.Geteuid(), nil }, OnMedia: func(s localipc.Session, ms []localipc.MediaUse) {
		w.Report(s.ID(), s.UID, ReportedMedia(s, ms), localipc.MediaTTL)
	}}
	path := filepath.Join(shortDir(t), "notify.sock")
	if err := srv.Listen(path); err != nil {
		t.Fatal(err)
	}
	sctx, stopServer := context.WithCancel(context.Background())
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(sctx) }()
	defer func() {
		stopServer()
		if err := <-serveDone; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	emitted := make(chan []devices.Use, 10)
	wctx, stopWatcher := context.WithCancel(context.Background())
	watchDone := make(chan error, 1)
	go func() { watchDone <- w.Run(wctx, func(us []devices.Use) { emitted <- us }) }()
	defer func() {
		stopWatcher()
		if err := <-watchDone; err != nil {
			t.Errorf("Watcher.Run: %v", err)
		}
	}()
	next := func(what string) []devices.Use {
		t.Helper()
		select {
		case us := <-emitted:
			return us
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
			return nil
		}
	}
	if got := next("the first set"); len(got) != 0 {
		t.Fatalf("first set %+v, want none in use", got)
	}

	camera := devices.Use{Kind: devices.Camera, Device: "0x8020000005ac8514", PID: 812, Process: "/Applications/zoom.us.app/Contents/MacOS/zoom.us",
		UID: 0, Session: "forged", Source: devices.SourceCoreMediaIO} // uid and session are not the probe's to say
	probe := &mediaProbe{uses: []devices.Use{camera}}
	nctx, stopNotifier := context.WithCancel(context.Background())
	notifierDone := make(chan error, 1)
	go func() {
		notifierDone <- notify.RunNotifier(nctx, notify.NotifierConfig{Path: path, Locale: "en", Session: "console", Display: nopDisplay{},
			Retry: 50 * time.Millisecond, MediaProbe: probe.probe, MediaInterval: 20 * time.Millisecond})
	}()
	defer func() {
		stopNotifier()
		if err := <-notifierDone; err != nil {
			t.Errorf("RunNotifier: %v", err)
		}
	}()

	uid := os.Geteuid()
	want := camera
	want.UID, want.Session = uid, strconv.Itoa(uid)
	if got := next("the camera"); !slices.Equal(got, []devices.Use{want}) {
		t.Fatalf("emitted %+v\nwant %+v", got, []devices.Use{want})
	}
	// Probes that find the same send nothing new.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		probe.mu.Lock()
		calls := probe.calls
		probe.mu.Unlock()
		if calls >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for more probes")
		}
	}
	select {
	case us := <-emitted:
		t.Fatalf("emitted %+v while nothing changed", us)
	default:
	}
	probe.set(nil)
	if got := next("the camera off"); len(got) != 0 {
		t.Fatalf("emitted %+v, want none in use", got)
	}
	probe.set([]devices.Use{camera})
	if got := next("the camera again"); !slices.Equal(got, []devices.Use{want}) {
		t.Fatalf("emitted %+v", got)
	}
	// The notifier goes away: its report goes with it, not after MediaTTL.
	stopNotifier()
	if err := <-notifierDone; err != nil {
		t.Errorf("RunNotifier: %v", err)
	}
	notifierDone <- nil // for the deferred stop
	select {
	case got := <-emitted:
		if len(got) != 0 {
			t.Fatalf("emitted %+v after the notifier stopped, want none in use", got)
		}
	case <-time.After(localipc.MediaTTL / 3):
		t.Fatal("the notifier's report outlived it")
	}
}
