package procwatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Set VCGUARD_REQUIRE_PROC_CONNECTOR=1 (CI running as root on a VM) to turn
// "connector unavailable" skips into failures.
const requireConnectorEnv = "VCGUARD_REQUIRE_PROC_CONNECTOR"

// connectorWait bounds every wait for an event: generous, since a loaded CI
// machine may be slow, and only reached when something is wrong.
const connectorWait = 10 * time.Second

// openTestConnector opens the connector, skipping when this process cannot
// (not root on a kernel before 6.6, or a container) and closing it at the
// end of the test. Kernels 6.6 and later let any user listen, so the tests
// run unprivileged there too.
func openTestConnector(tb testing.TB) *connector {
	tb.Helper()
	skip := tb.Skip
	if os.Getenv(requireConnectorEnv) == "1" {
		skip = tb.Fatal
	}
	c, err := openConnector()
	switch {
	case err == nil:
	case errors.Is(err, os.ErrPermission):
		skip(fmt.Sprintf("the netlink proc connector needs root (CAP_NET_ADMIN) on kernel %s, and euid is %d; run the tests as root to cover it: %v", kernelRelease(), os.Geteuid(), err))
	case errors.Is(err, errors.ErrUnsupported), errors.Is(err, unix.EPROTONOSUPPORT):
		skip("the netlink proc connector is unavailable here (a container?): ", err)
	default:
		tb.Fatalf("openConnector: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// eventPump reads the connector on its own goroutine and hands the events
// over a channel, so tests can wait with a timeout.
type eventPump struct {
	events chan procEvent
	stop   chan struct{}
	done   chan struct{}
	err    error // the error that ended the reads; valid after done
}

func startPump(tb testing.TB, c *connector) *eventPump {
	p := &eventPump{events: make(chan procEvent, 4096), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]procEvent, 0, 64)
		for {
			evs, err := c.read(buf)
			if errors.Is(err, errOverrun) {
				tb.Logf("read: %v", err)
				continue
			}
			if err != nil {
				p.err = err
				return
			}
			for _, ev := range evs {
				select {
				case p.events <- stamped(tb, ev):
				case <-p.stop:
					return
				}
			}
		}
	}()
	// Runs before openTestConnector's Close: stop the goroutine, then wait
	// for it, so no test leaks it.
	tb.Cleanup(func() {
		close(p.stop)
		c.Close()
		<-p.done
	})
	return p
}

// waitFor returns the events received until want, failing the test when
// want does not come within connectorWait.
func (p *eventPump) waitFor(tb testing.TB, want procEvent) []procEvent {
	tb.Helper()
	timeout := time.NewTimer(connectorWait)
	defer timeout.Stop()
	var seen []procEvent
	for {
		select {
		case ev := <-p.events:
			seen = append(seen, ev)
			if ev == want {
				return seen
			}
		case <-p.done:
			tb.Fatalf("the connector stopped before %s %d: %v", want.Kind, want.PID, p.err)
		case <-timeout.C:
			tb.Fatalf("no %s event for pid %d within %v (%d other events)", want.Kind, want.PID, connectorWait, len(seen))
		}
	}
}

func TestConnectorExecAndExit(t *testing.T) {
	c := openTestConnector(t)
	p := startPump(t, c)

	cmd := exec.Command("/bin/sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	pid := int32(cmd.Process.Pid)
	seen := p.waitFor(t, procEvent{Kind: procExec, PID: pid})
	if slices.Contains(seen, procEvent{Kind: procExit, PID: pid}) {
		t.Errorf("exit of %d before its exec: %v", pid, seen)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	p.waitFor(t, procEvent{Kind: procExit, PID: pid})
}

// A thread that ends is not a process exit: neither its thread id nor the
// process it belongs to may be reported.
func TestConnectorDropsThreadExit(t *testing.T) {
	c := openTestConnector(t)
	p := startPump(t, c)

	// A goroutine that ends while locked to its thread takes the thread
	// with it; the runtime keeps the main thread instead, so retry there.
	var tid int
	for range 10 {
		ch := make(chan int)
		go func() {
			runtime.LockOSThread()
			ch <- unix.Gettid()
		}()
		if tid = <-ch; tid != os.Getpid() {
			break
		}
	}
	if tid == os.Getpid() {
		t.Skip("could not get a thread other than the main one to exit")
	}
	// The exit event is sent before the thread leaves /proc.
	task := "/proc/self/task/" + strconv.Itoa(tid)
	for deadline := time.Now().Add(connectorWait); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(task); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d did not exit", tid)
		}
	}

	// Every event sent before the sentinel's exec has been read by then.
	sentinel := exec.Command("/bin/true")
	if err := sentinel.Start(); err != nil {
		t.Fatal(err)
	}
	seen := p.waitFor(t, procEvent{Kind: procExec, PID: int32(sentinel.Process.Pid)})
	sentinel.Wait()
	for _, bad := range []procEvent{{Kind: procExit, PID: int32(tid)}, {Kind: procExit, PID: int32(os.Getpid())}} {
		if slices.Contains(seen, bad) {
			t.Errorf("the exit of thread %d of process %d was reported as %s of %d", tid, os.Getpid(), bad.Kind, bad.PID)
		}
	}
}

// A process with CAP_NET_ADMIN can send to the socket's port: a forged
// event must be ignored.
func TestConnectorIgnoresOtherSenders(t *testing.T) {
	c := openTestConnector(t)
	p := startPump(t, c)

	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		t.Fatal(err)
	}
	const forged = math.MaxInt32 - 7 // above pid_max: no real process
	msg := kernelMsg(evExec(forged, forged))
	err = unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: c.portID})
	if errors.Is(err, unix.EPERM) && !hasCapNetAdmin() {
		t.Skip("only a process with CAP_NET_ADMIN can send to another connector socket; run as root to test the forgery")
	}
	if err != nil {
		t.Fatalf("send a forged event to port %d: %v", c.portID, err)
	}

	sentinel := exec.Command("/bin/true")
	if err := sentinel.Start(); err != nil {
		t.Fatal(err)
	}
	seen := p.waitFor(t, procEvent{Kind: procExec, PID: int32(sentinel.Process.Pid)})
	sentinel.Wait()
	if slices.Contains(seen, procEvent{Kind: procExec, PID: forged}) {
		t.Error("a forged event from a user process was reported")
	}
}

func TestConnectorCloseUnblocksRead(t *testing.T) {
	c := openTestConnector(t)

	type result struct {
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	go func() {
		buf := make([]procEvent, 0, 64)
		for {
			// Events from the rest of the machine may come first.
			if _, err := c.read(buf); err != nil && !errors.Is(err, errOverrun) {
				done <- result{err, time.Now()}
				return
			}
		}
	}()
	// Wait until the reader is parked in the poller, the case Close must
	// wake: its goroutine shows as "IO wait" inside read.
	for deadline := time.Now().Add(connectorWait); !readerParked(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reader never blocked in read")
		}
	}

	closed := time.Now()
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case r := <-done:
		if !errors.Is(r.err, net.ErrClosed) {
			t.Errorf("read after Close returned %v, want net.ErrClosed", r.err)
		}
		t.Logf("Close unblocked the read in %v", r.at.Sub(closed))
	case <-time.After(connectorWait):
		t.Fatalf("Close did not unblock read within %v", connectorWait)
	}

	if _, err := c.read(nil); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read on a closed connector: %v, want net.ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// When the socket's buffer overflows, read reports errOverrun, and then
// goes on delivering events.
func TestConnectorOverrun(t *testing.T) {
	c := openTestConnector(t)
	// The smallest buffer the kernel allows holds a few events.
	var sockErr error
	if err := c.raw.Control(func(fd uintptr) {
		sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 0)
	}); err != nil || sockErr != nil {
		t.Fatal(err, sockErr)
	}
	for range 100 {
		cmd := exec.Command("/bin/true")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
	}

	type result struct {
		evs []procEvent
		err error
	}
	results := make(chan result, 64)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			evs, err := c.read(nil)
			select {
			case results <- result{evs, err}:
			case <-stop:
				return
			}
			if err != nil && !errors.Is(err, errOverrun) {
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		c.Close()
		<-done
	})

	overruns := 0
	timeout := time.After(connectorWait)
	for overruns == 0 {
		select {
		case r := <-results:
			switch {
			case errors.Is(r.err, errOverrun):
				overruns++
			case r.err != nil:
				t.Fatalf("read: %v", r.err)
			}
		case <-timeout:
			t.Fatal("no errOverrun after 100 execs into a minimal buffer")
		}
	}
	// Events flow again after the overrun. The buffer gets room again, as
	// other processes on the machine (parallel test packages) exec too and
	// would overrun a minimal one for ever; a sentinel is started every
	// 100 ms until the exec event of one of them arrives.
	if err := c.raw.Control(func(fd uintptr) {
		sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	}); err != nil || sockErr != nil {
		t.Fatal(err, sockErr)
	}
	sentinels := map[procEvent]bool{}
	startSentinel := func() {
		cmd := exec.Command("/bin/true")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		sentinels[procEvent{Kind: procExec, PID: int32(cmd.Process.Pid)}] = true
	}
	startSentinel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r := <-results:
			switch {
			case errors.Is(r.err, errOverrun):
				overruns++
			case r.err != nil:
				t.Fatalf("read after the overrun: %v", r.err)
			case slices.ContainsFunc(r.evs, func(e procEvent) bool { return sentinels[procEvent{Kind: e.Kind, PID: e.PID}] }):
				t.Logf("%d overrun(s) reported, then events again (%d sentinel(s) started)", overruns, len(sentinels))
				return
			}
		case <-tick.C:
			startSentinel()
		case <-timeout:
			t.Fatalf("no exec event for any of %d sentinels after the overrun", len(sentinels))
		}
	}
}

// readerParked reports whether a goroutine is parked for I/O in
// connector.read.
func readerParked() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "[IO wait") && strings.Contains(g, "(*connector).read(") {
			return true
		}
	}
	return false
}

func TestConnectorReceiveBuffer(t *testing.T) {
	c := openTestConnector(t)
	if !hasCapNetAdmin() {
		t.Skip("without CAP_NET_ADMIN the buffer is capped at net.core.rmem_max")
	}
	var size int
	var sockErr error
	if err := c.raw.Control(func(fd uintptr) {
		size, sockErr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	}); err != nil {
		t.Fatal(err)
	}
	if sockErr != nil {
		t.Fatal(sockErr)
	}
	// The kernel reports twice the size set, for its bookkeeping.
	if size < connectorRcvBuf {
		t.Errorf("SO_RCVBUF = %d, want at least %d", size, connectorRcvBuf)
	}
}

// Two subscriptions side by side each get the events, and closing one
// leaves the other working: the answers to each one's listen request are
// told apart by port id.
func TestConnectorTwoSubscribers(t *testing.T) {
	a := openTestConnector(t)
	b := openTestConnector(t)
	pa, pb := startPump(t, a), startPump(t, b)

	cmd := exec.Command("/bin/true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	pa.waitFor(t, procEvent{Kind: procExec, PID: int32(cmd.Process.Pid)})
	pb.waitFor(t, procEvent{Kind: procExec, PID: int32(cmd.Process.Pid)})

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("/bin/true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	pb.waitFor(t, procEvent{Kind: procExec, PID: int32(cmd.Process.Pid)})
}

// Without CAP_NET_ADMIN, openConnector either fails with an error matching
// os.ErrPermission, so the watcher polls instead (before Linux 6.6), or
// works (6.6 and later let any process listen). As root the test runs
// itself again as nobody (65534) to check that.
func TestConnectorWithoutPrivilege(t *testing.T) {
	const childEnv = "VCGUARD_CONNECTOR_UNPRIVILEGED_CHILD"
	if os.Getenv(childEnv) == "1" || os.Geteuid() != 0 {
		if hasCapNetAdmin() {
			t.Skip("this process has CAP_NET_ADMIN without being root")
		}
		c, err := openConnector()
		fmt.Printf("unprivileged openConnector (euid %d, kernel %s): %v\n", os.Geteuid(), kernelRelease(), err)
		switch {
		case err == nil:
			// The kernel lets anyone listen: then the events must come.
			t.Cleanup(func() { c.Close() })
			p := startPump(t, c)
			cmd := exec.Command("/bin/true")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			p.waitFor(t, procEvent{Kind: procExec, PID: int32(cmd.Process.Pid)})
			fmt.Println("unprivileged connector delivered the exec event")
		case errors.Is(err, os.ErrPermission):
			fmt.Println("unprivileged connector refused with os.ErrPermission")
		case errors.Is(err, errors.ErrUnsupported), errors.Is(err, unix.EPROTONOSUPPORT):
			t.Skip("the netlink proc connector is unavailable here (a container?): ", err)
		default:
			t.Fatalf("openConnector without CAP_NET_ADMIN: %v; want success or an error matching os.ErrPermission", err)
		}
		return
	}

	// The test binary lives in a directory only root can enter: copy it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// t.TempDir's parent is private to root.
	dir, err := os.MkdirTemp("", "procwatch-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "procwatch.test")
	copyExecutable(t, self, bin)

	cmd := exec.Command(bin, "-test.run=^TestConnectorWithoutPrivilege$", "-test.v")
	cmd.Dir = dir
	// GORACE: a -race binary otherwise sleeps a second before exiting.
	cmd.Env = append(os.Environ(), childEnv+"=1", "GORACE=atexit_sleep_ms=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}},
	}
	out, err := cmd.CombinedOutput()
	t.Logf("as nobody:\n%s", out)
	if err != nil {
		t.Fatalf("the unprivileged run failed: %v", err)
	}
	if !strings.Contains(string(out), "unprivileged openConnector (euid 65534") {
		t.Fatal("the unprivileged run did not try openConnector")
	}
}

// The errors for a refused or unanswered subscription match
// os.ErrPermission exactly when privilege is what is missing.
func TestConnectorRefusalErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		err        error
		permission bool
	}{
		{"bind EPERM", fmt.Errorf("join: %w", explainPermission(unix.EPERM)), true},
		{"bind EACCES (a security module)", explainPermission(unix.EACCES), true},
		{"answer EPERM", ackError(connectorAck{Err: uint32(unix.EPERM)}), true},
		{"answer EINVAL", ackError(connectorAck{Err: uint32(unix.EINVAL)}), false},
		{"no answer, no CAP_NET_ADMIN", noAnswerError(false), true},
		{"no answer with CAP_NET_ADMIN: a container", noAnswerError(true), false},
	} {
		if got := errors.Is(tt.err, os.ErrPermission); got != tt.permission {
			t.Errorf("%s: %v: errors.Is(os.ErrPermission) = %v, want %v", tt.name, tt.err, got, tt.permission)
		}
	}
	if err := noAnswerError(true); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("no answer in a container: %v, want errors.ErrUnsupported", err)
	}
}

// On kernels that filter (6.6 and later), the socket receives only exec
// and exit events: no fork, no answers to other listeners.
func TestConnectorKernelFilter(t *testing.T) {
	if !kernelAtLeast(6, 6) {
		t.Skipf("kernel %s does not filter events (6.6 and later do)", kernelRelease())
	}
	c := openTestConnector(t)
	if err := c.f.SetReadDeadline(time.Now().Add(connectorWait)); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	want := procEvent{Kind: procExec, PID: int32(cmd.Process.Pid)}
	whats := map[uint32]int{}
	var found bool
	var events []procEvent
	err := c.raw.Read(func(fd uintptr) bool {
		for !found {
			dgram, err := c.recv(int(fd))
			if err == unix.EAGAIN {
				return false
			}
			if err != nil {
				t.Errorf("recv: %v", err)
				return true
			}
			// The kernel sends one event per datagram.
			if len(dgram) >= nlmsgHdrLen+cnMsgLen+4 {
				whats[binary.NativeEndian.Uint32(dgram[nlmsgHdrLen+cnMsgLen:])]++
			}
			events, _, _ = parseConnectorMessages(dgram, events[:0], nil)
			found = slices.ContainsFunc(events, func(e procEvent) bool { return e.Kind == want.Kind && e.PID == want.PID })
		}
		return true
	})
	if err != nil {
		t.Fatalf("no exec event for %d: %v", want.PID, err)
	}
	for what, n := range whats {
		if what != procEventExec && what != procEventExit {
			t.Errorf("%d events of type %#x reached a socket that asked for exec and exit only", n, what)
		}
	}
	t.Logf("event types received: %v", whats)
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Release[:])
}

func kernelAtLeast(major, minor int) bool {
	var maj, min int
	if _, err := fmt.Sscanf(kernelRelease(), "%d.%d", &maj, &min); err != nil {
		return false
	}
	return maj > major || (maj == major && min >= minor)
}

func copyExecutable(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkConnectorExecLatency measures how long after cmd.Start begins
// the exec event of the new process is read, at the median and the 99th
// percentile. start-p50-ms, the median time cmd.Start itself takes, is
// the baseline: the event cannot come before the exec, which Start
// awaits. It runs idle (load=0) and with a background load of 1,000
// exec/s (load=1000, ExecLoads); bg-exec/s is the rate the load achieved.
func BenchmarkConnectorExecLatency(b *testing.B) {
	for _, load := range ExecLoads() {
		b.Run(fmt.Sprintf("load=%d", load), func(b *testing.B) { connectorExecLatency(b, load) })
	}
}

func connectorExecLatency(b *testing.B, load int) {
	c := openTestConnector(b)
	type arrival struct {
		pid int32
		at  time.Time
	}
	execs := make(chan arrival, 4096)
	stop, done := make(chan struct{}), make(chan struct{})
	var overruns atomic.Int64
	go func() {
		defer close(done)
		buf := make([]procEvent, 0, 64)
		for {
			evs, err := c.read(buf)
			now := time.Now()
			if errors.Is(err, errOverrun) {
				overruns.Add(1)
				continue
			}
			if err != nil {
				return
			}
			for _, ev := range evs {
				if ev.Kind != procExec {
					continue
				}
				select {
				case execs <- arrival{ev.PID, now}:
				case <-stop:
					return
				}
			}
		}
	}()
	b.Cleanup(func() {
		close(stop)
		c.Close()
		<-done
	})

	stopLoad := StartExecLoad(b, load)
	var lat, start []time.Duration
	for b.Loop() {
		cmd := exec.Command("/bin/true")
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		start = append(start, time.Since(t0))
		pid := int32(cmd.Process.Pid)
		timeout := time.After(connectorWait)
	wait:
		for {
			select {
			case a := <-execs:
				if a.pid == pid {
					lat = append(lat, a.at.Sub(t0))
					break wait
				}
			case <-timeout:
				cmd.Wait()
				b.Fatalf("no exec event for pid %d within %v (the kernel dropped events %d times)", pid, connectorWait, overruns.Load())
			}
		}
		cmd.Wait()
	}
	stopLoad()
	if n := overruns.Load(); n > 0 {
		b.Logf("the kernel dropped exec events %d times (ENOBUFS)", n)
	}
	b.ReportMetric(percentileMs(lat, 0.50), "p50-ms")
	b.ReportMetric(percentileMs(lat, 0.99), "p99-ms")
	b.ReportMetric(percentileMs(start, 0.50), "start-p50-ms")
}

func percentileMs(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := max(int(math.Ceil(q*float64(len(s))))-1, 0)
	return float64(s[i]) / float64(time.Millisecond)
}
