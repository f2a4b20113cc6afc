package devices

import (
	"bufio"
	"bytes"
	"context"
	"github.com/vcguard/vcguard/agent/devices/pwtest"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func needTools(t testing.TB, tools ...string) { pwtest.NeedTools(t, tools...) }

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestAppendHolds(t *testing.T) {
	t.Parallel()
	holds := []fdHold{
		{Use: Use{Kind: Microphone, Device: "/dev/snd/pcmC0D0c", PID: 10, Process: "/usr/bin/pipewire", UID: 1000}, comm: "pipewire"},
		{Use: Use{Kind: Camera, Device: "/dev/video0", PID: 11, Process: "/usr/bin/wireplumber", UID: 1000}, comm: "wireplumber"},
		{Use: Use{Kind: Microphone, Device: "/dev/snd/pcmC0D0c", PID: 12, Process: "/usr/bin/arecord", UID: 1000}, comm: "arecord"},
		{Use: Use{Kind: Microphone, Device: "/dev/snd/pcmC0D0c", PID: 13, Process: "/usr/bin/pipewire", UID: 1001}, comm: "pipewire"},
	}
	got := appendHolds(nil, holds, map[int]bool{1000: true})
	if len(got) != 2 || got[0].PID != 12 || got[1].PID != 13 {
		t.Errorf("appendHolds kept %+v; want arecord (a direct ALSA client) and the pipewire of the user whose server was not read", got)
	}
}

// A process inside a private mount namespace opens files standing at
// /dev/video0 and /dev/snd/pcmC0D0c (no V4L2 or ALSA driver exists here,
// and a mknod-made node cannot be opened): the real /proc scan finds
// them when told to accept regular files, and, as in production, not
// otherwise.
func TestCameraInNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("unshare -m needs root")
	}
	needTools(t, "unshare", "sleep", "sh")
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs none /dev && mkdir /dev/snd && : > /dev/video0 && : > /dev/snd/pcmC0D0c && : > /dev/snd/pcmC0D0p &&
		 exec sleep 600 < /dev/video0 3< /dev/snd/pcmC0D0c 4< /dev/snd/pcmC0D0p 5< /dev/video0`)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := int32(cmd.Process.Pid) // unshare without --fork execs: one process

	c := newLinuxChecker(Config{RunUserDir: t.TempDir(), Logger: testLogger(t)})
	c.scanner.acceptRegularFiles = true
	w := &Watcher{cfg: c.cfg, os: c}
	want := []Use{
		{Kind: Camera, Device: "/dev/video0", PID: pid, Process: "/usr/bin/sleep", UID: 0, Session: "0", Source: SourceV4L2},
		{Kind: Microphone, Device: "/dev/snd/pcmC0D0c", PID: pid, Process: "/usr/bin/sleep", UID: 0, Session: "0", Source: SourceALSA},
	}
	var mine []Use
	deadline := time.Now().Add(5 * time.Second)
	for {
		us, err := w.Check(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		mine = slices.DeleteFunc(us, func(u Use) bool { return u.PID != pid })
		if len(mine) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(mine) > 0 && strings.HasSuffix(mine[0].Process, "/sleep") {
		for i := range want {
			want[i].Process = mine[0].Process // /bin/sleep or /usr/bin/sleep
		}
	}
	if !slices.Equal(mine, want) {
		t.Fatalf("the scan found %+v for pid %d, want %+v (helper stderr: %s)", mine, pid, want, stderr.String())
	}

	// Production is strict: a regular file is not a device.
	c.scanner.acceptRegularFiles = false
	us, err := w.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(us, func(u Use) bool { return u.PID == pid }) {
		t.Errorf("a regular file at /dev/video0 counted as a camera: %+v", us)
	}
}

// The inotify plumbing: opening and closing a watched node, and a node
// created later, signal a change; a playback node does not.
func TestDevWatch(t *testing.T) {
	dev := t.TempDir()
	for _, p := range []string{"video0", "snd/pcmC0D0c", "snd/pcmC0D0p", "null"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dev, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dev, p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := runtime.NumGoroutine()
	c := newLinuxChecker(Config{RunUserDir: t.TempDir(), PollInterval: time.Hour, Logger: testLogger(t)})
	c.devDir = dev
	c.debounce = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	changed, err := c.start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expect := func(what string, want bool) {
		t.Helper()
		wait := time.After(time.Second)
		if !want {
			wait = time.After(200 * time.Millisecond)
		}
		select {
		case <-changed:
			if !want {
				t.Errorf("%s signalled a change", what)
			}
		case <-wait:
			if want {
				t.Errorf("%s did not signal a change within 1 s", what)
			}
		}
		// An open and a close may come as two rounds: let both pass.
		time.Sleep(50 * time.Millisecond)
		select {
		case <-changed:
		default:
		}
	}
	open := func(name string) {
		f, err := os.Open(filepath.Join(dev, name))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	expect("nothing", false)
	open("video0")
	expect("open and close of video0", true)
	open("snd/pcmC0D0c")
	expect("open and close of pcmC0D0c", true)
	open("snd/pcmC0D0p")
	expect("open of a playback PCM", false)
	open("null")
	expect("open of another node", false)
	if err := os.WriteFile(filepath.Join(dev, "video1"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	expect("a new video node", true)
	open("video1")
	expect("open of the new video node", true)
	if err := os.Mkdir(filepath.Join(c.cfg.RunUserDir, "1000"), 0o700); err != nil {
		t.Fatal(err)
	}
	expect("a new user session", true)
	if err := os.WriteFile(filepath.Join(c.cfg.RunUserDir, "1000", "bus"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	expect("another file in a session", false)
	if err := os.WriteFile(filepath.Join(c.cfg.RunUserDir, "1000", "pipewire-0"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	expect("a session's PipeWire socket", true)

	cancel()
	waitGoroutines(t, base)
}

// waitGoroutines waits for the goroutine count to fall back to base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left running (were %d):\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pwEnv is a private PipeWire session (see pwtest).
type pwEnv = pwtest.Session

func startPipeWire(t *testing.T, pulse bool) pwEnv { return pwtest.Start(t, pulse) }

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runWatcher runs a Watcher on c and returns its reports; it stops when
// the test ends, and then no goroutine or child process of it is left.
func runWatcher(t *testing.T, c *linuxChecker) <-chan []Use {
	t.Helper()
	reports := make(chan []Use, 64)
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{cfg: c.cfg, os: c}
	done := make(chan error, 1)
	base := runtime.NumGoroutine()
	go func() { done <- w.Run(ctx, func(us []Use) { reports <- us }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		waitGoroutines(t, base)
		waitFor(t, 3*time.Second, "end of the sound server monitors", func() bool { return len(childrenNamed("pw-dump", "pactl")) == 0 })
	})
	return reports
}

// childrenNamed lists this process's children with one of the names.
func childrenNamed(names ...string) []int {
	ents, _ := os.ReadDir("/proc")
	self := strconv.Itoa(os.Getpid())
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		var name, ppid string
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Name:\t"); ok {
				name = v
			}
			if v, ok := strings.CutPrefix(sc.Text(), "PPid:\t"); ok {
				ppid = v
			}
		}
		if ppid == self && slices.Contains(names, name) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// awaitUse waits up to d for a report in which has is true (or false,
// with want false) and returns the time it took.
func awaitUse(t *testing.T, reports <-chan []Use, d time.Duration, t0 time.Time, want bool, has func(Use) bool, what string) time.Duration {
	t.Helper()
	timeout := time.After(d - time.Since(t0))
	var last []Use
	for {
		select {
		case us := <-reports:
			last = us
			if slices.ContainsFunc(us, has) == want {
				return time.Since(t0)
			}
		case <-timeout:
			t.Fatalf("%s: not within %v; last report %+v", what, d, last)
		}
	}
}

// The real thing: a PipeWire daemon with a null source, the real
// pw-record client, and a Watcher that finds the session under
// RunUserDir by itself (this process has no XDG_RUNTIME_DIR for it). The
// microphone use appears attributed to pw-record's PID as PipeWire
// recorded it, within 2 s, and goes when pw-record ends. The poll
// interval is long, so the events (pw-dump --monitor) do the work.
func TestPipeWireReal(t *testing.T) {
	e := startPipeWire(t, false)
	c := newLinuxChecker(Config{RunUserDir: e.Base, PollInterval: time.Minute, Logger: testLogger(t)})
	reports := runWatcher(t, c)
	select {
	case <-reports:
	case <-time.After(5 * time.Second):
		t.Fatal("no first report")
	}
	// Let the monitor's first dump go by.
	time.Sleep(300 * time.Millisecond)
	for len(reports) > 0 {
		<-reports
	}

	// Idle, the checks must not feed themselves: each runs pw-dump, a
	// client the monitor sees come and go.
	idle := 0
	quiet := time.After(1500 * time.Millisecond)
	for wait := true; wait; {
		select {
		case <-reports:
			idle++
		case <-quiet:
			wait = false
		}
	}
	if n := checksIn(t, c, 1500*time.Millisecond); n > 2 || idle > 0 {
		t.Errorf("idle: %d event-driven checks and %d reports in 1.5 s; want none (a check causing the next?)", n, idle)
	}

	rec := exec.Command("pw-record", "--target", "test-mic", filepath.Join(e.Base, "out.wav"))
	rec.Env = e.Env
	t0 := time.Now()
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Process.Kill(); rec.Wait() })
	pid := int32(rec.Process.Pid)
	uid := os.Geteuid()
	var got Use
	isRec := func(u Use) bool {
		if u.PID == pid && u.Kind == Microphone && u.Source == SourcePipeWire {
			got = u
			return true
		}
		return false
	}
	on := awaitUse(t, reports, 2*time.Second, t0, true, isRec, "microphone use by pw-record")
	t.Logf("microphone on: reported %v after pw-record started", on)
	if got.Device != "test-mic" || got.UID != uid || got.Session != strconv.Itoa(uid) || got.Monitor || !strings.HasSuffix(got.Process, "/pw-cat") {
		t.Errorf("use %+v; want device test-mic, uid %d, process /usr/bin/pw-cat (pw-record's executable), not a monitor", got, uid)
	}

	t1 := time.Now()
	rec.Process.Kill()
	rec.Wait()
	off := awaitUse(t, reports, 2*time.Second, t1, false, isRec, "end of pw-record's use")
	t.Logf("microphone off: reported %v after pw-record was killed", off)

	// A capture of the sink's monitor is told apart.
	mon := exec.Command("pw-record", "--target", "test-sink", "-P", "{ stream.capture.sink=true }", filepath.Join(e.Base, "mon.wav"))
	mon.Env = e.Env
	t2 := time.Now()
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mon.Process.Kill(); mon.Wait() })
	pid = int32(mon.Process.Pid)
	awaitUse(t, reports, 2*time.Second, t2, true, isRec, "monitor capture by pw-record")
	if !got.Monitor || got.Device != "test-sink" || got.IsCapture() {
		t.Errorf("monitor capture reported as %+v; want Monitor on test-sink", got)
	}
}

// PulseAudio as the user's sound server (here pipewire-pulse, with the
// PipeWire socket out of the Watcher's sight): parec's capture is found
// through pactl, with the PID the client gives.
func TestPulseReal(t *testing.T) {
	e := startPipeWire(t, true)
	c := newLinuxChecker(Config{RunUserDir: e.Base, PollInterval: time.Minute, Logger: testLogger(t)})
	reports := runWatcher(t, c)
	select {
	case <-reports:
	case <-time.After(5 * time.Second):
		t.Fatal("no first report")
	}
	if n := checksIn(t, c, 1500*time.Millisecond); n > 2 {
		t.Errorf("idle: %d event-driven checks in 1.5 s; want none (a check causing the next?)", n)
	}
	rec := exec.Command("parec", "-d", "test-mic")
	rec.Env = append(slices.Clone(e.Env), "PULSE_SERVER=unix:"+filepath.Join(e.Base, strconv.Itoa(os.Geteuid()), "pulse", "native"))
	t0 := time.Now()
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Process.Kill(); rec.Wait() })
	pid := int32(rec.Process.Pid)
	var got Use
	isRec := func(u Use) bool {
		if u.PID == pid && u.Source == SourcePulseAudio {
			got = u
			return true
		}
		return false
	}
	on := awaitUse(t, reports, 2*time.Second, t0, true, isRec, "microphone use by parec")
	t.Logf("microphone on (PulseAudio): reported %v after parec started", on)
	if got.Kind != Microphone || got.Device != "test-mic" || got.Monitor || !strings.HasSuffix(got.Process, "/pacat") {
		t.Errorf("use %+v; want a microphone on test-mic by /usr/bin/pacat", got)
	}
	t1 := time.Now()
	rec.Process.Kill()
	rec.Wait()
	off := awaitUse(t, reports, 2*time.Second, t1, false, isRec, "end of parec's use")
	t.Logf("microphone off (PulseAudio): reported %v after parec was killed", off)
}

// checksIn runs c's events for d, checking at each change as Run does,
// and returns how many checks the events caused after the first.
func checksIn(t *testing.T, c *linuxChecker, d time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	changed, err := c.start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := -1 // the monitor's first dump
	for {
		select {
		case <-ctx.Done():
			return max(n, 0)
		case <-changed:
			n++
			if _, err := c.check(ctx); err != nil && ctx.Err() == nil {
				t.Error(err)
			}
		}
	}
}
