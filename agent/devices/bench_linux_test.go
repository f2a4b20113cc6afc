package devices

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const benchProcs = 500

// fakeProcFDs writes a synthetic procfs of n processes, each with comm,
// status, an exe link and ten fd links of the usual kinds; every 50th
// holds a playback PCM, a candidate that must be stat'ed and rejected.
func fakeProcFDs(tb testing.TB, n int) string {
	tb.Helper()
	root := tb.TempDir()
	targets := []string{"/dev/null", "/dev/null", "/dev/pts/0", "socket:[123456]", "pipe:[98765]",
		"anon_inode:[eventfd]", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/home/u/.cache/x.db", "socket:[123457]", "/dev/urandom"}
	for i := range n {
		dir := filepath.Join(root, strconv.Itoa(100+i))
		if err := os.MkdirAll(filepath.Join(dir, "fd"), 0o755); err != nil {
			tb.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "comm"), []byte("proc\n"), 0o444)
		os.WriteFile(filepath.Join(dir, "status"), []byte("Name:\tproc\nUid:\t1000\t1000\t1000\t1000\n"), 0o444)
		os.Symlink("/usr/bin/proc", filepath.Join(dir, "exe"))
		for fd, target := range targets {
			if fd == 9 && i%50 == 0 {
				target = "/dev/snd/pcmC0D0p"
			}
			if err := os.Symlink(target, filepath.Join(dir, "fd", strconv.Itoa(fd))); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return root
}

// fdFloor is the least a /proc fd scan does: list the processes, list
// each one's fd directory and read every link, with the same system
// calls the scanner uses.
func fdFloor(tb testing.TB, root string, buf []byte) (pids, links int) {
	d, err := os.Open(root)
	if err != nil {
		tb.Fatal(err)
	}
	defer d.Close()
	var names []string
	for {
		n, err := unix.Getdents(int(d.Fd()), buf)
		if err != nil {
			tb.Fatal(err)
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	link := make([]byte, 512)
	var fds []string
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		dfd, err := unix.Openat(int(d.Fd()), name+"/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		pids++
		fds = fds[:0]
		for {
			n, err := unix.Getdents(dfd, buf)
			if err != nil || n <= 0 {
				break
			}
			_, _, fds = unix.ParseDirent(buf[:n], -1, fds)
		}
		for _, fd := range fds {
			if _, err := unix.Readlinkat(dfd, fd, link); err == nil {
				links++
			}
		}
		unix.Close(dfd)
	}
	return pids, links
}

// startSleepers tops the live process table up to n processes, each
// with a handful of open files; they are killed when the benchmark ends.
func startSleepers(tb testing.TB, n int) {
	tb.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		tb.Fatal(err)
	}
	have := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			have++
		}
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		tb.Fatal(err)
	}
	defer null.Close()
	var cmds []*exec.Cmd
	tb.Cleanup(func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	})
	for range n - have {
		c := exec.Command("sleep", "3600")
		c.ExtraFiles = []*os.File{null, null, null}
		if err := c.Start(); err != nil {
			tb.Fatal(err)
		}
		cmds = append(cmds, c)
	}
}

type benchTable struct{ name, root string }

func benchTables(b *testing.B) []benchTable {
	startSleepers(b, benchProcs)
	return []benchTable{{"live-" + strconv.Itoa(benchProcs), "/proc"}, {fmt.Sprintf("synthetic-%d", benchProcs), fakeProcFDs(b, benchProcs)}}
}

// BenchmarkFDFloor measures the floor alone.
func BenchmarkFDFloor(b *testing.B) {
	for _, tb := range benchTables(b) {
		b.Run(tb.name, func(b *testing.B) {
			buf := make([]byte, 32<<10)
			var pids, links int
			for b.Loop() {
				pids, links = fdFloor(b, tb.root, buf)
			}
			b.ReportMetric(float64(pids), "pids")
			b.ReportMetric(float64(links), "links")
		})
	}
}

// BenchmarkCheck measures one camera/microphone check (no user sound
// server: the /proc part) against the floor in the same iterations;
// floor-ratio is the goal (≤ 1.2).
func BenchmarkCheck(b *testing.B) {
	ctx := context.Background()
	for _, tb := range benchTables(b) {
		b.Run(tb.name, func(b *testing.B) {
			c := newLinuxChecker(Config{ProcRoot: tb.root, RunUserDir: b.TempDir()})
			buf := make([]byte, 32<<10)
			var checkT, floorT time.Duration
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				fdFloor(b, tb.root, buf)
				t1 := time.Now()
				if _, err := c.check(ctx); err != nil {
					b.Fatal(err)
				}
				floorT += t1.Sub(t0)
				checkT += time.Since(t1)
			}
			b.ReportMetric(float64(checkT.Nanoseconds())/float64(b.N), "check-ns/op")
			b.ReportMetric(float64(floorT.Nanoseconds())/float64(b.N), "floor-ns/op")
			b.ReportMetric(float64(checkT)/float64(floorT), "floor-ratio")
		})
	}
}
