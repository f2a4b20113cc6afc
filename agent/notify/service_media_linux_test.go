package notify

import (
	"bufio"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/devices"
)

// mediaCall is one OnMedia call.
type mediaCall struct {
	s     Session
	media []MediaWire
}

// A notifier's media frame reaches OnMedia with the session the OS
// vouched for; its disconnection withdraws the report.
func TestIPCMediaReport(t *testing.T) {
	t.Parallel()
	calls := make(chan mediaCall, 10)
	srv := startServer(t, &Server{ProcessOwner: ownedBy(os.Geteuid()), OnMedia: func(s Session, ms []MediaWire) { calls <- mediaCall{s, ms} }})
	next := func(what string) mediaCall {
		t.Helper()
		select {
		case c := <-calls:
			return c
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
			return mediaCall{}
		}
	}

	c := connect(t, srv.path, "s1")
	if err := c.Media(testMedia()); err != nil {
		t.Fatal(err)
	}
	got := next("the media report")
	if got.s.UID != os.Geteuid() || got.s.Session != "s1" || got.s.PID != os.Getpid() || !slices.Equal(got.media, testMedia()) {
		t.Errorf("OnMedia(%+v, %+v); want uid %d, session s1 and the uses sent", got.s, got.media, os.Geteuid())
	}
	if err := c.Media(nil); err != nil {
		t.Fatal(err)
	}
	if got := next("the empty report"); got.media == nil || len(got.media) != 0 {
		t.Errorf("an empty report reached OnMedia as %#v, want an empty list", got.media)
	}
	c.Close()
	if got := next("the withdrawal"); got.media != nil || got.s.Session != "s1" {
		t.Errorf("on disconnect OnMedia(%+v, %#v); want nil for session s1", got.s, got.media)
	}

	// A notifier that never reported leaves without a call.
	quiet := connect(t, srv.path, "s2")
	quiet.Close()
	waitFor(t, "s2 to leave", func() bool { return len(srv.Sessions()) == 0 })
	select {
	case got := <-calls:
		t.Errorf("OnMedia(%+v, %+v) for a notifier that never reported", got.s, got.media)
	case <-time.After(50 * time.Millisecond):
	}
}

// A media frame before the hello is refused like any other.
func TestIPCMediaBeforeHello(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{OnMedia: func(Session, []MediaWire) { t.Error("OnMedia called before a hello") }})
	conn, r := rawConn(t, srv.path)
	if _, err := conn.Write(must(EncodeFrame(Frame{Type: FrameMedia, Media: testMedia()}))); err != nil {
		t.Fatal(err)
	}
	if reason := readRefusal(t, r); !strings.Contains(reason, `expected a hello frame first, got "media"`) {
		t.Errorf("refusal %q", reason)
	}
}

// A notifier flooding media frames is cut off.
func TestIPCMediaFlood(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	n := 0
	srv := startServer(t, &Server{OnMedia: func(_ Session, ms []MediaWire) {
		mu.Lock()
		if ms != nil {
			n++
		}
		mu.Unlock()
	}})
	conn, r := rawConn(t, srv.path)
	hello := must(EncodeFrame(Frame{Type: FrameHello, Hello: Hello{UID: os.Geteuid(), Lang: "en", Session: "flood"}}))
	if _, err := conn.Write(hello); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadBytes('\n'); err != nil || !strings.Contains(string(line), FrameWelcome) {
		t.Fatalf("hello: %q, %v", line, err)
	}
	frame := must(EncodeFrame(Frame{Type: FrameMedia, Media: testMedia()}))
	go func() {
		w := bufio.NewWriter(conn)
		for range 10 * ipcMediaBurst {
			if _, err := w.Write(frame); err != nil {
				return
			}
		}
		w.Flush()
	}()
	expectHangUp(t, r)
	waitFor(t, "the log line", func() bool { return strings.Contains(srv.logs.String(), "too fast") })
	mu.Lock()
	defer mu.Unlock()
	if n > ipcMediaBurst+1 {
		t.Errorf("%d reports passed, want at most the burst of %d", n, ipcMediaBurst)
	}
}

// nopDisplay shows nothing.
type nopDisplay struct{}

func (nopDisplay) Show(context.Context, Message) error { return nil }

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

func (p *mediaProbe) probe(context.Context) ([]devices.Use, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	return slices.Clone(p.uses), nil
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
	srv := startServer(t, &Server{ProcessOwner: ownedBy(os.Geteuid()), OnMedia: func(s Session, ms []MediaWire) {
		w.Report(s.ID(), s.UID, MediaUses(s, ms), MediaTTL)
	}})

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
		notifierDone <- RunNotifier(nctx, NotifierConfig{Path: srv.path, Locale: "en", Session: "console", Display: nopDisplay{},
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
	waitFor(t, "more probes", func() bool { probe.mu.Lock(); defer probe.mu.Unlock(); return probe.calls >= 5 })
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
	case <-time.After(MediaTTL / 3):
		t.Fatal("the notifier's report outlived it")
	}
}

// ownedBy is a Server.ProcessOwner that says every process is uid's (the
// test media name made-up pids).
func ownedBy(uid int) func(int) (int, error) {
	return func(int) (int, error) { return uid, nil }
}

// The media budget is the user's, not the connection's: a second
// connection of the same user does not get a fresh one, and what is
// refused is counted.
func TestIPCMediaBudgetPerUser(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	n := 0
	srv := startServer(t, &Server{ProcessOwner: ownedBy(os.Geteuid()), OnMedia: func(_ Session, ms []MediaWire) {
		mu.Lock()
		if ms != nil {
			n++
		}
		mu.Unlock()
	}})
	frame := must(EncodeFrame(Frame{Type: FrameMedia, Media: testMedia()}))
	first := connect(t, srv.path, "first")
	for range ipcMediaBurst {
		if err := first.Media(testMedia()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the burst", func() bool { mu.Lock(); defer mu.Unlock(); return n == ipcMediaBurst })
	conn, r := rawConn(t, srv.path)
	hello := must(EncodeFrame(Frame{Type: FrameHello, Hello: Hello{UID: os.Geteuid(), Lang: "en", Session: "second"}}))
	if _, err := conn.Write(hello); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadBytes('\n'); err != nil || !strings.Contains(string(line), FrameWelcome) {
		t.Fatalf("hello: %q, %v", line, err)
	}
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	expectHangUp(t, r)
	if got := srv.Refused()[RefusedMediaRate]; got != 1 {
		t.Errorf("Refused()[%s] = %d, want 1", RefusedMediaRate, got)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != ipcMediaBurst {
		t.Errorf("%d reports passed, want the burst of %d", n, ipcMediaBurst)
	}
}
