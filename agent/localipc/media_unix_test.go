//go:build linux || darwin

package localipc

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// mediaCall is one OnMedia call.
type mediaCall struct {
	s     Session
	media []MediaUse
}

// A notifier's media frame reaches OnMedia with the session the OS
// vouched for; its disconnection withdraws the report.
func TestIPCMediaReport(t *testing.T) {
	t.Parallel()
	calls := make(chan mediaCall, 10)
	srv := startServer(t, &Server{ProcessOwner: ownedBy(os.Geteuid()), OnMedia: func(s Session, ms []MediaUse) { calls <- mediaCall{s, ms} }})
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
	srv := startServer(t, &Server{OnMedia: func(Session, []MediaUse) { t.Error("OnMedia called before a hello") }})
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
	srv := startServer(t, &Server{OnMedia: func(_ Session, ms []MediaUse) {
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
	if f, err := readFrame(r); err != nil || f.Type != FrameWelcome {
		t.Fatalf("hello: %+v, %v", f, err)
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
	srv := startServer(t, &Server{ProcessOwner: ownedBy(os.Geteuid()), OnMedia: func(_ Session, ms []MediaUse) {
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
	if f, err := readFrame(r); err != nil || f.Type != FrameWelcome {
		t.Fatalf("hello: %+v, %v", f, err)
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
