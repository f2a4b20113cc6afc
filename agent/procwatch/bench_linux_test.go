package procwatch_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/procwatch"
	"golang.org/x/sys/unix"
)

// benchFilter passes what a catalog matcher would: a few dozen names.
// benchMatched keeps the floor's filter calls from being optimised away.
var benchMatched int

func benchFilter(name string) bool {
	switch name {
	case "zoom", "teams", "teams-for-linux", "skypeforlinux", "signal-desktop", "jitsi-meet",
		"slack", "Discord", "element-desktop", "chrome", "chromium", "firefox-esr", "firefox",
		"telegram-deskto", "jami", "linphone", "mumble", "msedge", "brave", "opera", "vivaldi-bin":
		return true
	}
	return false
}

// fakeProc writes a synthetic procfs with n processes under a temporary
// directory: comm, stat and an exe link per PID, and /proc/stat's btime.
// Every 100th process is a "zoom".
func fakeProc(tb testing.TB, n int) string {
	tb.Helper()
	root := tb.TempDir()
	if err := os.WriteFile(filepath.Join(root, "stat"), []byte("cpu  1 2 3\nbtime 1763900000\nprocesses 5\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	names := []string{"bash", "systemd", "kworker/0:1-events", "sshd", "pipewire", "gnome-shell", "Xwayland", "containerd"}
	for i := range n {
		pid := 100 + i
		name, exe := names[i%len(names)], "/usr/bin/"+names[i%len(names)]
		if i%100 == 50 {
			name, exe = "zoom", "/opt/zoom/zoom"
		}
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.Mkdir(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		comm := procwatch.TruncateComm(name)
		stat := fmt.Sprintf("%d (%s) S 1 %d %d 0 -1 4194560 1234 0 0 0 12 3 0 0 20 0 1 0 %d 12345678 1234 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n", pid, comm, pid, pid, 5000+i)
		if err := os.WriteFile(filepath.Join(dir, "comm"), []byte(comm+"\n"), 0o444); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o444); err != nil {
			tb.Fatal(err)
		}
		if err := os.Symlink(exe, filepath.Join(dir, "exe")); err != nil {
			tb.Fatal(err)
		}
	}
	return root
}

// procFloor is the least any scan of the process table does: list the
// PIDs and read each one's comm, with the same system calls the watcher
// uses (getdents, openat, read, close) so that the ratio compares work,
// not library overhead.
func procFloor(tb testing.TB, root string, buf []byte) int {
	d, err := os.Open(root)
	if err != nil {
		tb.Fatal(err)
	}
	defer d.Close()
	fd := int(d.Fd())
	names := make([]string, 0, 1024)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			tb.Fatal(err)
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	var comm [64]byte
	read := 0
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		f, err := unix.Openat(fd, name+"/comm", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // exited meanwhile
		}
		n, _ := unix.Read(f, comm[:])
		unix.Close(f)
		if n > 0 {
			if benchFilter(string(comm[:n-1])) {
				benchMatched++
			}
			read++
		}
	}
	return read
}

type table struct {
	name string
	root string // "" for the live /proc
}

func tables(b *testing.B) []table {
	startAs(b, "zoom")
	return []table{{"live", ""}, {"synthetic-1000", fakeProc(b, 1000)}}
}

func rootOf(t table) string {
	if t.root == "" {
		return "/proc"
	}
	return t.root
}

// BenchmarkProcFloor measures the floor alone.
func BenchmarkProcFloor(b *testing.B) {
	for _, tb := range tables(b) {
		b.Run(tb.name, func(b *testing.B) {
			buf := make([]byte, 32<<10)
			var n int
			for b.Loop() {
				n = procFloor(b, rootOf(tb), buf)
			}
			b.ReportMetric(float64(n), "pids")
		})
	}
}

// BenchmarkScan measures a full scan (every PID's comm read, interesting
// ones inspected) and a poll with no new PID, each against the floor in
// the same iterations; floor-ratio is the goal (≤ 1.5 for full, ≤ 0.5 for
// nonew).
func BenchmarkScan(b *testing.B) {
	ctx := context.Background()
	for _, tb := range tables(b) {
		for _, mode := range []string{"full", "nonew"} {
			b.Run(tb.name+"/"+mode, func(b *testing.B) {
				w := procwatch.New(procwatch.Config{Filter: benchFilter, ProcRoot: tb.root})
				if _, err := w.Scan(ctx); err != nil {
					b.Fatal(err)
				}
				buf := make([]byte, 32<<10)
				var scanT, floorT time.Duration
				b.ReportAllocs()
				for b.Loop() {
					t0 := time.Now()
					procFloor(b, rootOf(tb), buf)
					t1 := time.Now()
					var err error
					if mode == "full" {
						_, err = w.Scan(ctx)
					} else {
						_, err = w.Poll(ctx)
					}
					if err != nil {
						b.Fatal(err)
					}
					floorT += t1.Sub(t0)
					scanT += time.Since(t1)
				}
				b.ReportMetric(float64(scanT.Nanoseconds())/float64(b.N), "scan-ns/op")
				b.ReportMetric(float64(floorT.Nanoseconds())/float64(b.N), "floor-ns/op")
				b.ReportMetric(float64(scanT)/float64(floorT), "floor-ratio")
				b.ReportMetric(float64(len(w.Tracked())), "matches")
			})
		}
	}
}

// The synthetic table is read like the live one: the fake zoom processes
// are found with their start times and executables, and a Poll with
// nothing new does not re-read a known process.
func TestSyntheticTable(t *testing.T) {
	t.Parallel()
	root := fakeProc(t, 1000)
	w := procwatch.New(procwatch.Config{Filter: benchFilter, ProcRoot: root})
	ctx := context.Background()
	ch, err := w.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Started) != 10 {
		t.Fatalf("Scan found %d processes, want the 10 zooms: %+v", len(ch.Started), ch.Started)
	}
	p := ch.Started[0]
	want := time.Unix(1763900000, 0).Add(5050 * 10 * time.Millisecond)
	if p.PID != 150 || p.Name != "zoom" || p.Exe != "/opt/zoom/zoom" || p.PPID != 1 || !p.Started.Equal(want) {
		t.Errorf("first process %+v, want pid 150 zoom /opt/zoom/zoom ppid 1 started %v", p, want)
	}
	// Rename a known uninteresting process to zoom: Poll must not look at
	// it (it inspects only new PIDs), Scan must.
	if err := os.WriteFile(filepath.Join(root, "101", "comm"), []byte("zoom\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	if ch, err = w.Poll(ctx); err != nil || !ch.Empty() {
		t.Fatalf("Poll = %+v, %v; want nothing new", ch, err)
	}
	// A new PID and a vanished one are seen by Poll.
	if err := os.Mkdir(filepath.Join(root, "5000"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "5000", "comm"), []byte("zoom\n"), 0o444)
	os.WriteFile(filepath.Join(root, "5000", "stat"), []byte("5000 (zoom) R 150 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999 0 0\n"), 0o444)
	os.Symlink("/tmp/zoom", filepath.Join(root, "5000", "exe"))
	if err := os.RemoveAll(filepath.Join(root, "250")); err != nil {
		t.Fatal(err)
	}
	ch, err = w.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Started) != 1 || ch.Started[0].PID != 5000 || ch.Started[0].PPID != 150 || ch.Started[0].Exe != "/tmp/zoom" {
		t.Errorf("Poll started %+v, want pid 5000 (ppid 150, /tmp/zoom)", ch.Started)
	}
	if len(ch.Exited) != 1 || ch.Exited[0].PID != 250 {
		t.Errorf("Poll exited %+v, want pid 250", ch.Exited)
	}
	// The full scan finds the renamed one.
	ch, err = w.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Full || len(ch.Started) != 11 || len(ch.Exited) != 0 {
		t.Errorf("Scan = %d started, %d exited, full %v; want all 11 (10 zooms minus one, the new one, the renamed one), none exited", len(ch.Started), len(ch.Exited), ch.Full)
	}
	if _, ok := find(t, ch.Started, 101); !ok {
		t.Error("Scan did not find the process renamed to zoom")
	}
}

// BenchmarkDetectionLatency measures, with the real proc connector, the
// time from starting a process (just before fork and exec) to the
// watcher's report of it, over real processes; p50 and p99 are the
// metrics, exec-p50 and exec-p99 the same from the kernel's stamp of the
// exec (procwatch.Process.Exec; without what starting the process took
// before its exec) (goal, issue 13: p99 within 5 ms with a background load of
// 1,000 exec/s). It runs idle (load=0) and under that load (load=1000,
// ExecLoads), so the two compare in one run; bg-exec/s is the rate the
// load achieved.
func BenchmarkDetectionLatency(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("the proc connector needs root")
	}
	for _, load := range procwatch.ExecLoads() {
		b.Run(fmt.Sprintf("load=%d", load), func(b *testing.B) { detectionLatency(b, load) })
	}
}

func detectionLatency(b *testing.B, load int) {
	const name = "vcglatency"
	_, exe := startAs(b, name)
	// Each report carries the time the watcher made it (taken in emit,
	// which the watcher calls synchronously), not the later time the
	// benchmark's goroutine reads it: that wake-up is the benchmark's.
	type report struct {
		p  procwatch.Process
		at time.Time
	}
	reports := make(chan report, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	w := procwatch.New(procwatch.Config{Filter: only(name)})
	ready := make(chan struct{})
	first := true
	go func() {
		done <- w.Run(ctx, func(c procwatch.Changes) {
			if first {
				first = false
				close(ready)
				return
			}
			// Every later report, a rescan's too: under load the kernel may
			// drop events, and the watcher then finds the process by a
			// rescan (a Full report listing every match).
			at := time.Now()
			for _, p := range c.Started {
				select {
				case reports <- report{p, at}:
				case <-ctx.Done():
					return
				}
			}
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	<-ready
	stopLoad := procwatch.StartExecLoad(b, load)
	var lat, fromExec []time.Duration
	for b.Loop() {
		cmd := exec.Command(exe, "600")
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		timeout := time.After(10 * time.Second)
	wait:
		for {
			select {
			case r := <-reports:
				if r.p.PID == int32(cmd.Process.Pid) {
					if !r.p.Exec.IsZero() { // not found by a rescan
						fromExec = append(fromExec, r.at.Sub(r.p.Exec))
					}
					lat = append(lat, r.at.Sub(t0))
					break wait
				}
			case <-timeout:
				cmd.Process.Kill()
				cmd.Wait()
				b.Fatalf("the watcher did not report pid %d within 10 s", cmd.Process.Pid)
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	stopLoad()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	if len(fromExec) > 0 {
		slices.Sort(fromExec)
		b.ReportMetric(float64(fromExec[len(fromExec)/2].Microseconds())/1000, "exec-p50-ms")
		b.ReportMetric(float64(fromExec[len(fromExec)*99/100].Microseconds())/1000, "exec-p99-ms")
	}
	b.ReportMetric(float64(len(fromExec))/float64(len(lat)), "stamped")
}
