//go:build linux || darwin

package localipc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// socketDir returns a fresh directory for a socket: short (socket paths
// are limited to ~104 bytes), mode 0755, owned by the test.
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vcg-ipc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testServer is a Server listening in a fresh directory and serving
// until the test ends (or stop is called).
type testServer struct {
	*Server
	path string
	logs *logBuffer
	stop func() error // cancels Serve and returns what it returned
}

func startServer(t *testing.T, s *Server) *testServer {
	t.Helper()
	logs := &logBuffer{}
	if s.Logger == nil {
		s.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	path := filepath.Join(socketDir(t), "notify.sock")
	if err := s.Listen(path); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(10 * time.Second):
				serveErr = errors.New("Serve did not return within 10 s of cancel")
			}
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{Server: s, path: path, logs: logs, stop: stop}
}

// connect dials and says hello as this process's uid.
func connect(t *testing.T, path, session string) *Client {
	t.Helper()
	ctx := testContext(t)
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello(ctx, Hello{UID: os.Geteuid(), Lang: "nl", Session: session}); err != nil {
		t.Fatal(err)
	}
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rawConn is a connection that speaks bytes, for sending what a Client
// never would.
func rawConn(t *testing.T, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// readRefusal reads the refused frame the server sends before hanging
// up, and checks that it does hang up.
func readRefusal(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	f, err := readFrame(r)
	if err != nil || f.Type != FrameRefused {
		t.Fatalf("got %+v (%v), want a refused frame", f, err)
	}
	expectHangUp(t, r)
	return f.Reason
}

// readFrame reads one frame from a raw connection.
func readFrame(r *bufio.Reader) (Frame, error) {
	size, err := binary.ReadUvarint(r)
	if err != nil {
		return Frame{}, err
	}
	b := make([]byte, min(size, MaxFrameSize+1))
	if _, err := io.ReadFull(r, b); err != nil {
		return Frame{}, err
	}
	return DecodeFrame(b)
}

// expectHangUp reads until the server closes the connection. Closing
// with unread input (an oversize frame) resets it: that counts too.
func expectHangUp(t *testing.T, r io.Reader) {
	t.Helper()
	rest, err := io.ReadAll(r)
	if len(rest) != 0 || err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("got %q, %v; want the server to hang up", rest, err)
	}
}

func TestIPCHelloAndNotice(t *testing.T) {
	t.Parallel()
	shown := make(chan string, 1)
	srv := startServer(t, &Server{
		PingInterval: 5 * time.Millisecond, // pings interleave with notices
		OnShown: func(s Session, key string) {
			shown <- fmt.Sprintf("%d/%s/%s", s.UID, s.Session, key)
		},
	})
	c := connect(t, srv.path, "s1")
	uid := os.Geteuid()

	sessions := srv.Sessions()
	if len(sessions) != 1 {
		t.Fatalf("Sessions() = %+v, want one", sessions)
	}
	if s := sessions[0]; s.UID != uid || s.Session != "s1" || s.Lang != "nl" || s.PID != os.Getpid() || s.Since.IsZero() {
		t.Errorf("session = %+v, want uid %d, session s1, lang nl, pid %d", s, uid, os.Getpid())
	}

	ctx := testContext(t)
	want := testNotice()
	if err := srv.Send(uid, want); err != nil {
		t.Fatal(err)
	}
	got, err := c.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Next =\n%+v\nwant\n%+v", got, want)
	}
	if err := c.Ack(got.Key); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-shown:
		if want := fmt.Sprintf("%d/s1/%s", uid, want.Key); s != want {
			t.Errorf("OnShown got %s, want %s", s, want)
		}
	case <-ctx.Done():
		t.Fatal("OnShown not called after Ack")
	}

	second := Notice{Key: "teams/outdated", AppID: "teams", Verdict: "outdated", Action: "warn"}
	if err := srv.Broadcast(second); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Next(ctx); err != nil || got.Key != second.Key {
		t.Fatalf("Next after Broadcast = %+v, %v", got, err)
	}
}

func TestIPCSendUnknownUID(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{})
	err := srv.Send(4242, testNotice())
	if !errors.Is(err, ErrNoSession) || !strings.Contains(err.Error(), "uid 4242") {
		t.Errorf("Send to uid 4242 = %v, want ErrNoSession naming the uid", err)
	}
	if err := srv.Broadcast(testNotice()); !errors.Is(err, ErrNoSession) {
		t.Errorf("Broadcast with no one connected = %v, want ErrNoSession", err)
	}
	connect(t, srv.path, "")
	if err := srv.Send(4242, testNotice()); !errors.Is(err, ErrNoSession) {
		t.Errorf("Send to uid 4242 with another user connected = %v, want ErrNoSession", err)
	}
	bad := testNotice()
	bad.InfoURL = "file:///etc/shadow"
	if err := srv.Send(os.Geteuid(), bad); !errors.Is(err, ErrBadFrame) || !strings.Contains(err.Error(), "notice.info_url") {
		t.Errorf("Send of an invalid notice = %v, want ErrBadFrame naming notice.info_url", err)
	}
}

func TestIPCHelloOtherUIDRefused(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{})
	ctx := testContext(t)
	c, err := Dial(ctx, srv.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	claim := os.Geteuid() + 1
	err = c.Hello(ctx, Hello{UID: claim, Lang: "en"})
	want := fmt.Sprintf("hello claims uid %d but the connecting process runs as uid %d", claim, os.Geteuid())
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Hello claiming uid %d = %v, want ErrRefused: %s", claim, err, want)
	}
	if _, err := c.Next(ctx); !errors.Is(err, ErrServiceGone) {
		t.Errorf("Next after refusal = %v, want ErrServiceGone", err)
	}
	if s := srv.Sessions(); len(s) != 0 {
		t.Errorf("Sessions() = %+v after a refusal, want none", s)
	}
	if logs := srv.logs.String(); !strings.Contains(logs, "notifier refused") || !strings.Contains(logs, fmt.Sprintf("claimed_uid=%d", claim)) {
		t.Errorf("refusal not logged with the claimed uid:\n%s", logs)
	}
}

// TestIPCOtherUserRefused runs a notifier as uid 65534 in a child
// process (this test binary, re-executed). Claiming uid 0 is refused;
// claiming its own uid works and it receives its notice.
func TestIPCOtherUserRefused(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	shown := make(chan Session, 1)
	srv := startServer(t, &Server{OnShown: func(s Session, key string) { shown <- s }})
	// The child runs a copy of this binary from a directory it can reach.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(filepath.Dir(srv.path), "ipc.test")
	if err := copyFile(exe, bin); err != nil {
		t.Fatal(err)
	}
	const nobody = 65534

	t.Run("claims root", func(t *testing.T) {
		out, _ := runChild(t, bin, srv.path, 0, nil)
		want := fmt.Sprintf("refused: the vcguard service refused the notifier: hello claims uid 0 but the connecting process runs as uid %d", nobody)
		if !strings.Contains(out, want) {
			t.Errorf("child output:\n%s\nwant a line %q", out, want)
		}
		if logs := srv.logs.String(); !strings.Contains(logs, fmt.Sprintf("peer_uid=%d", nobody)) || !strings.Contains(logs, "claimed_uid=0") {
			t.Errorf("refusal not logged with peer and claimed uid:\n%s", logs)
		}
		if s := srv.Sessions(); len(s) != 0 {
			t.Errorf("Sessions() = %+v, want none", s)
		}
	})
	t.Run("claims itself", func(t *testing.T) {
		out, _ := runChild(t, bin, srv.path, nobody, func(line string) {
			if line != "welcome" {
				return
			}
			s := srv.Sessions()
			if len(s) != 1 || s[0].UID != nobody || s[0].Lang != "fr" {
				t.Errorf("Sessions() = %+v, want uid %d with lang fr", s, nobody)
			}
			if err := srv.Send(nobody, testNotice()); err != nil {
				t.Errorf("Send to uid %d: %v", nobody, err)
			}
		})
		if !strings.Contains(out, "notice "+testNotice().Key) {
			t.Errorf("child output:\n%s\nwant it to receive the notice", out)
		}
		select {
		case s := <-shown:
			if s.UID != nobody {
				t.Errorf("ack from uid %d, want %d", s.UID, nobody)
			}
		case <-time.After(10 * time.Second):
			t.Error("no acknowledgement from the child")
		}
	})
}

// TestIPCOtherUserMediaAndNotices: a second user's notifier (uid 65534,
// in a child process) reports a camera use by the first user's process
// (this test, root's) and one by its own process; only its own is
// accepted. A notice about root's app reaches root's session and not the
// other user's; a notice about the other user's process reaches it.
func TestIPCOtherUserMediaAndNotices(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	const nobody = 65534
	media := make(chan []MediaUse, 1)
	srv := startServer(t, &Server{OnMedia: func(s Session, ms []MediaUse) {
		if s.UID == nobody && ms != nil {
			media <- ms
		}
	}})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(filepath.Dir(srv.path), "ipc.test")
	if err := copyFile(exe, bin); err != nil {
		t.Fatal(err)
	}
	root := connect(t, srv.path, "root-console")

	// notifyOwner is what notify.Service.Notify does (which this package
	// cannot import): the notice goes to the sessions of the uid owning
	// the app's process, as ProcessOwner reads it.
	notifyOwner := func(key string, pid int) int {
		uid, err := ProcessOwner(pid)
		if err != nil {
			t.Errorf("ProcessOwner(%d): %v", pid, err)
			return 0
		}
		n := testNotice()
		n.Key = key
		if err := srv.Send(uid, n); err != nil {
			return 0
		}
		reached := 0
		for _, s := range srv.Sessions() {
			if s.UID == uid {
				reached++
			}
		}
		return reached
	}
	out, _ := runChild(t, bin, srv.path, nobody, func(line string) {
		if line != "media-sent" {
			return
		}
		var child Session
		for _, s := range srv.Sessions() {
			if s.UID == nobody {
				child = s
			}
		}
		select {
		case ms := <-media:
			if len(ms) != 1 || ms[0].Device != "own" || int(ms[0].PID) != child.PID {
				t.Errorf("OnMedia got %+v; want only the child's own process %d", ms, child.PID)
			}
		case <-time.After(10 * time.Second):
			t.Error("no media report from the child")
		}
		if got := srv.Refused()[RefusedMediaForeignPID]; got != 1 {
			t.Errorf("Refused()[%s] = %d, want 1", RefusedMediaForeignPID, got)
		}
		if !strings.Contains(srv.logs.String(), "not the user's") {
			t.Errorf("the refused use is not logged:\n%s", srv.logs.String())
		}
		if n := notifyOwner("root-app", os.Getpid()); n != 1 {
			t.Errorf("Notify about root's app reached %d sessions, want 1 (root's)", n)
		}
		if n := notifyOwner("child-app", child.PID); n != 1 {
			t.Errorf("Notify about the child's app reached %d sessions, want 1 (the child's)", n)
		}
		if err := srv.Send(nobody, testNotice()); err != nil { // a marker: everything before it was delivered
			t.Error(err)
		}
		end := testNotice()
		end.Key = "end"
		if err := srv.Send(nobody, end); err != nil {
			t.Error(err)
		}
	}, "GO_TEST_IPC_MODE=media")
	if want := "notice child-app\nnotice " + testNotice().Key + "\nnotice end\n"; !strings.Contains(out, want) || strings.Contains(out, "root-app") {
		t.Errorf("the other user's notifier got:\n%s\nwant exactly child-app, the marker and end", out)
	}
	ctx := testContext(t)
	if n, err := root.Next(ctx); err != nil || n.Key != "root-app" {
		t.Errorf("root's session got %+v, %v; want the notice about root's app", n, err)
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// runChild runs TestIPCHelperChild as uid/gid 65534 claiming uid claim,
// calls onLine for each line it prints, and returns its output.
func runChild(t *testing.T, bin, path string, claim int, onLine func(string), env ...string) (string, error) {
	t.Helper()
	ctx := testContext(t)
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestIPCHelperChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GO_TEST_IPC_CHILD=1", "GO_TEST_IPC_PATH="+path, "GO_TEST_IPC_CLAIM="+strconv.Itoa(claim))
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir = filepath.Dir(bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if onLine != nil {
			onLine(sc.Text())
		}
	}
	err = cmd.Wait()
	if err != nil {
		t.Errorf("child: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), stderr.String())
	}
	return out.String(), err
}

// TestIPCHelperChild is the notifier side of TestIPCOtherUserRefused; it
// does nothing unless run as that test's child.
func TestIPCHelperChild(t *testing.T) {
	if os.Getenv("GO_TEST_IPC_CHILD") != "1" {
		t.Skip("helper process for TestIPCOtherUserRefused")
	}
	claim, err := strconv.Atoi(os.Getenv("GO_TEST_IPC_CLAIM"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	c, err := Dial(ctx, os.Getenv("GO_TEST_IPC_PATH"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Hello(ctx, Hello{UID: claim, Lang: "fr", Session: "child"})
	if errors.Is(err, ErrRefused) {
		fmt.Println("refused:", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("welcome")
	if os.Getenv("GO_TEST_IPC_MODE") == "media" {
		// The parent's process (root's) and this one (its own) using
		// cameras; then every notice until "end".
		if err := c.Media([]MediaUse{
			{Kind: "camera", Device: "parent's", PID: int32(os.Getppid()), Source: "v4l2"},
			{Kind: "camera", Device: "own", PID: int32(os.Getpid()), Source: "v4l2"},
		}); err != nil {
			t.Fatal(err)
		}
		fmt.Println("media-sent")
		for {
			n, err := c.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Println("notice", n.Key)
			if n.Key == "end" {
				return
			}
		}
	}
	n, err := c.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("notice", n.Key)
	if err := c.Ack(n.Key); err != nil {
		t.Fatal(err)
	}
}

func TestIPCOversizeFrame(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{})
	t.Run("before hello", func(t *testing.T) {
		c, r := rawConn(t, srv.path)
		// The size alone is refused; the rest is never read.
		go c.Write(append(protowire.AppendVarint(nil, MaxFrameSize+100), bytes.Repeat([]byte("x"), MaxFrameSize+100)...))
		if reason := readRefusal(t, r); !strings.Contains(reason, "frame larger than 65536 bytes") {
			t.Errorf("refusal reason %q, want it to say the frame is too large", reason)
		}
	})
	t.Run("after hello", func(t *testing.T) {
		c, r := rawConn(t, srv.path)
		c.Write(must(EncodeFrame(Frame{Type: FrameHello, Hello: Hello{UID: os.Geteuid(), Lang: "en", Session: "big"}})))
		if f, err := readFrame(r); err != nil || f.Type != FrameWelcome {
			t.Fatalf("after hello: %+v, %v", f, err)
		}
		go c.Write(append(protowire.AppendVarint(nil, MaxFrameSize+1), bytes.Repeat([]byte("k"), MaxFrameSize)...))
		expectHangUp(t, r)
		waitFor(t, "session dropped", func() bool { return len(srv.Sessions()) == 0 })
		if logs := srv.logs.String(); !strings.Contains(logs, "frame larger than 65536 bytes") {
			t.Errorf("oversize frame not logged:\n%s", logs)
		}
	})
	t.Run("from the service", func(t *testing.T) {
		path, frames := fakeService(t)
		c, err := Dial(testContext(t), path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		frames <- append(protowire.AppendVarint(nil, MaxFrameSize+1), bytes.Repeat([]byte(" "), MaxFrameSize+1)...)
		if _, err := c.Next(testContext(t)); !errors.Is(err, ErrFrameTooLarge) {
			t.Errorf("Next = %v, want ErrFrameTooLarge", err)
		}
	})
}

func TestIPCMalformedFrame(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{})
	for _, tc := range []struct {
		name  string
		frame []byte
		want  string
	}{
		{"not protobuf", protowire.AppendBytes(nil, []byte("{\"type\":\"hello\",uid:1}")), "malformed frame: not a vcguard.v1.IpcFrame"},
		{"uid not a number", protowire.AppendBytes(nil, protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType),
			protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "0"))), "malformed frame: hello frame: field hello.1: unknown field number 1 in IpcHello"},
		{"not a hello", must(EncodeFrame(Frame{Type: FrameShown, Key: "x"})), `expected a hello frame first, got "shown"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, r := rawConn(t, srv.path)
			if _, err := c.Write(tc.frame); err != nil {
				t.Fatal(err)
			}
			if reason := readRefusal(t, r); !strings.Contains(reason, tc.want) {
				t.Errorf("refusal %q, want it to contain %q", reason, tc.want)
			}
		})
	}
	t.Run("from the service", func(t *testing.T) {
		path, frames := fakeService(t)
		ctx := testContext(t)
		c, err := Dial(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		frames <- must(EncodeFrame(Frame{Type: FrameWelcome}))
		if err := c.Hello(ctx, Hello{UID: 1, Lang: "en"}); err != nil {
			t.Fatal(err)
		}
		frames <- protowire.AppendBytes(nil, raw(noticeFrame(func(n *vcguardv1.IpcNotice) { n.GraceSeconds = 1 << 20 })))
		_, err = c.Next(ctx)
		if !errors.Is(err, ErrBadFrame) || !strings.Contains(err.Error(), "field notice.grace_seconds: 1048576 is out of range") {
			t.Errorf("Next = %v, want ErrBadFrame naming notice.grace_seconds", err)
		}
	})
}

// fakeService listens like the service and writes whatever is put on the
// channel to the first connection.
func fakeService(t *testing.T) (string, chan<- []byte) {
	t.Helper()
	path := filepath.Join(socketDir(t), "fake.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan []byte)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		wg.Go(func() { io.Copy(io.Discard, c) })
		for {
			select {
			case b := <-frames:
				if _, err := c.Write(b); err != nil {
					return
				}
			case <-done:
				return
			}
		}
	})
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
	return path, frames
}

func TestIPCHelloTimeout(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{HelloTimeout: 50 * time.Millisecond})
	_, r := rawConn(t, srv.path)
	if reason := readRefusal(t, r); !strings.Contains(reason, "no hello") {
		t.Errorf("refusal %q, want it to say no hello came", reason)
	}
}

// TestIPCServerShutdown is not parallel: it counts goroutines.
func TestIPCServerShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	srv := startServer(t, &Server{PingInterval: time.Millisecond})
	path := srv.path
	a := connect(t, path, "a")
	b := connect(t, path, "b")
	_, _ = rawConn(t, path) // a connection that never says hello

	if err := srv.stop(); err != nil {
		t.Fatalf("Serve returned %v on cancel, want nil", err)
	}
	ctx := testContext(t)
	for _, c := range []*Client{a, b} {
		_, err := c.Next(ctx)
		if !errors.Is(err, ErrServiceGone) || !strings.Contains(err.Error(), path) {
			t.Errorf("Next after shutdown = %v, want ErrServiceGone naming %s", err, path)
		}
		c.Close()
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket still there after shutdown: %v", err)
	}
	if s := srv.Sessions(); len(s) != 0 {
		t.Errorf("Sessions() after shutdown = %+v", s)
	}
	if err := srv.Send(os.Geteuid(), testNotice()); !errors.Is(err, ErrNoSession) {
		t.Errorf("Send after shutdown = %v, want ErrNoSession", err)
	}
	if err := srv.Listen(path); err == nil {
		t.Error("Listen after shutdown succeeded; a Server is used once")
	}
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestIPCDialNoService(t *testing.T) {
	t.Parallel()
	dir := socketDir(t)
	path := filepath.Join(dir, "notify.sock")
	_, err := Dial(testContext(t), path)
	want := "the vcguard service is not running (no socket at " + path + ")"
	if !errors.Is(err, ErrServiceNotRunning) || err.Error() != want {
		t.Errorf("Dial = %v, want %q", err, want)
	}
	// A socket file left behind by a dead service.
	staleSocket(t, path)
	if _, err := Dial(testContext(t), path); !errors.Is(err, ErrServiceNotRunning) {
		t.Errorf("Dial to a stale socket = %v, want ErrServiceNotRunning", err)
	}
}

// staleSocket leaves a socket file nobody listens on.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

func TestIPCListen(t *testing.T) {
	t.Parallel()
	t.Run("creates the directory, socket 0666", func(t *testing.T) {
		dir := filepath.Join(socketDir(t), "run")
		path := filepath.Join(dir, "notify.sock")
		var s Server
		if err := s.Listen(path); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("directory: %v, %v; want mode 0755", fi.Mode(), err)
		}
		if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o666 {
			t.Errorf("socket: %v, %v; want a socket of mode 0666", fi.Mode(), err)
		}
		if err := s.Listen(path); err == nil || !strings.Contains(err.Error(), "already listening") {
			t.Errorf("second Listen = %v", err)
		}
	})
	t.Run("stale socket removed", func(t *testing.T) {
		path := filepath.Join(socketDir(t), "notify.sock")
		staleSocket(t, path)
		srv := &Server{}
		if err := srv.Listen(path); err != nil {
			t.Fatalf("Listen over a stale socket: %v", err)
		}
		srv.Close()
	})
	t.Run("live socket kept", func(t *testing.T) {
		srv := startServer(t, &Server{})
		err := (&Server{}).Listen(srv.path)
		if err == nil || !strings.Contains(err.Error(), "another process already serves notifications on "+srv.path) {
			t.Errorf("Listen on a live socket = %v", err)
		}
		connect(t, srv.path, "") // the first server still works
	})
	t.Run("not a socket", func(t *testing.T) {
		path := filepath.Join(socketDir(t), "notify.sock")
		os.WriteFile(path, []byte("data"), 0o644)
		if err := (&Server{}).Listen(path); err == nil || !strings.Contains(err.Error(), "is not a socket") {
			t.Errorf("Listen on a regular file = %v", err)
		}
		if b, _ := os.ReadFile(path); string(b) != "data" {
			t.Error("Listen touched a file that is not a socket")
		}
	})
	t.Run("directory writable by others", func(t *testing.T) {
		dir := socketDir(t)
		os.Chmod(dir, 0o777)
		if err := (&Server{}).Listen(filepath.Join(dir, "notify.sock")); err == nil || !strings.Contains(err.Error(), "writable by others (mode 0777)") {
			t.Errorf("Listen in a 0777 directory = %v", err)
		}
	})
	t.Run("Serve before Listen", func(t *testing.T) {
		if err := (&Server{}).Serve(context.Background()); err == nil {
			t.Error("Serve without Listen succeeded")
		}
	})
}

func TestIPCOneConnectionPerSession(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{})
	ctx := testContext(t)
	old := connect(t, srv.path, "s1")
	replacement := connect(t, srv.path, "s1") // the notifier restarted
	if _, err := old.Next(ctx); !errors.Is(err, ErrServiceGone) {
		t.Errorf("Next on the replaced connection = %v, want ErrServiceGone", err)
	}
	other := connect(t, srv.path, "s2")
	if s := srv.Sessions(); len(s) != 2 || s[0].Session != "s1" || s[1].Session != "s2" {
		t.Fatalf("Sessions() = %+v, want s1 and s2", s)
	}
	if err := srv.Send(os.Geteuid(), testNotice()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Client{replacement, other} {
		if n, err := c.Next(ctx); err != nil || n.Key != testNotice().Key {
			t.Errorf("Next = %+v, %v", n, err)
		}
	}
}

func TestIPCNextContext(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{})
	c := connect(t, srv.path, "")
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with an expiring context = %v, want context.DeadlineExceeded", err)
	}
	// The connection is still good.
	if err := srv.Send(os.Geteuid(), testNotice()); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Next(testContext(t)); err != nil || n.Key != testNotice().Key {
		t.Fatalf("Next after a cancelled Next = %+v, %v", n, err)
	}
	// Close unblocks a waiting Next.
	errc := make(chan error, 1)
	go func() { _, err := c.Next(context.Background()); errc <- err }()
	time.Sleep(10 * time.Millisecond) // let Next block; the result is the same either way
	c.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Next after Close = %v, want net.ErrClosed", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("timed out waiting for %s\n%s", what, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Deliver waits for each session's answer: shown, not shown with the
// notifier's reason, no answer within the wait, or the notifier gone.
func TestIPCDeliverAnswers(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{})
	uid := os.Geteuid()
	ctx := testContext(t)
	a, b := connect(t, srv.path, "a"), connect(t, srv.path, "b")
	answer := func(c *Client, shown bool, reason string) {
		go func() {
			n, err := c.Next(ctx)
			if err != nil {
				t.Errorf("Next: %v", err)
				return
			}
			if shown {
				err = c.Ack(n.Key)
			} else if reason != "" {
				err = c.NotShown(n.Key, reason)
			}
			if err != nil {
				t.Errorf("answer: %v", err)
			}
		}()
	}
	answer(a, true, "")
	answer(b, false, "no notification daemon")
	res, err := srv.Deliver(ctx, uid, testNotice(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Session.Session != "a" || !res[0].Shown || res[1].Session.Session != "b" || res[1].Shown || res[1].Reason != "no notification daemon" {
		t.Errorf("Deliver = %+v; want a shown, b not shown with its reason", res)
	}

	// b does not answer: it counts as not shown after the wait; its late
	// answer is ignored.
	answer(a, true, "")
	answer(b, false, "")
	start := time.Now()
	res, err = srv.Deliver(ctx, uid, testNotice(), 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Deliver took %s with a 300ms wait", took)
	}
	if len(res) != 2 || !res[0].Shown || res[1].Shown || res[1].Reason != "no answer from the notifier within 300ms" {
		t.Errorf("Deliver = %+v; want b unanswered", res)
	}
	if err := b.Ack(testNotice().Key); err != nil {
		t.Fatal(err)
	}

	// DeliverSession reaches that connection alone; a notifier that hangs
	// up before answering is not counted.
	var sb Session
	for _, s := range srv.Sessions() {
		if s.Session == "b" {
			sb = s
		}
	}
	go func() {
		if _, err := b.Next(ctx); err == nil {
			b.Close()
		}
	}()
	res, err = srv.DeliverSession(ctx, sb, testNotice(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Shown || res[0].Reason != "the notifier disconnected before it answered" {
		t.Errorf("DeliverSession = %+v; want b gone before answering", res)
	}
	if _, err := srv.Deliver(ctx, uid+1, testNotice(), time.Second); !errors.Is(err, ErrNoSession) {
		t.Errorf("Deliver to a user without notifier: %v, want ErrNoSession", err)
	}
}

// A notifier may answer only the notices it was sent: an answer beyond
// them closes its connection, and is counted.
func TestIPCAnswerUnsentRefused(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &Server{})
	c := connect(t, srv.path, "s")
	ctx := testContext(t)
	if err := srv.Send(os.Geteuid(), testNotice()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Ack(testNotice().Key); err != nil { // answers the one it got
		t.Fatal(err)
	}
	if err := c.NotShown("forged", "never sent"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(ctx); !errors.Is(err, ErrServiceGone) {
		t.Errorf("Next after a forged answer: %v, want the service to hang up", err)
	}
	if got := srv.Refused()[RefusedAnswerUnsent]; got != 1 {
		t.Errorf("Refused()[%s] = %d, want 1", RefusedAnswerUnsent, got)
	}
}

// OnConnect and the connect hooks learn of each welcomed notifier.
func TestIPCConnectHooks(t *testing.T) {
	t.Parallel()
	got := make(chan string, 4)
	srv := startServer(t, &Server{OnConnect: func(s Session) { got <- "field " + s.Session }})
	srv.AddConnectHook(func(s Session) { got <- "hook " + s.Session })
	connect(t, srv.path, "s1")
	var seen []string
	for range 2 {
		select {
		case s := <-got:
			seen = append(seen, s)
		case <-time.After(10 * time.Second):
			t.Fatal("a connect hook was not called")
		}
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"field s1", "hook s1"}) {
		t.Errorf("hooks saw %v", seen)
	}
}
