package execload

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/vcguard/vcguard/internal/schedslice"
)

// The latency benchmarks of the agent (agent/procwatch, agent) run twice:
// idle, and while a background load starts 1,000 short processes a second
// (issue 13: exec -> detection p99 within 5 ms under that load). The load
// runs in another process, the benchmark's own test binary re-executed
// into its TestExecLoadProcess (which calls RunChild), so that its forks
// do not contend with the measured process's own for the fork lock of the
// Go runtime: only the kernel, the CPUs and the watcher are shared, as
// with a real load.

// BenchLoads are the background loads, in exec/s, the latency benchmarks
// run under: their sub-benchmarks are named load=N.
func BenchLoads() []int { return []int{0, 1000} }

// childEnv carries the load's rate to the re-executed test binary,
// childProgramEnv the program it starts.
const (
	childEnv        = "VCGUARD_EXECLOAD_RATE"
	childProgramEnv = "VCGUARD_EXECLOAD_PROGRAM"
)

// benchWarmup is how long the load runs before the measurement, past the
// start of its process.
const benchWarmup = 200 * time.Millisecond

// RunChild is the body of a benchmark package's TestExecLoadProcess: it
// is no test, but the background load StartBackground starts, and skips
// unless it was started so. It ends when its standard input does.
func RunChild(t *testing.T) {
	v := os.Getenv(childEnv)
	if v == "" {
		t.Skip("the benchmarks' background exec load; runs only when they start it")
	}
	rate, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", childEnv, v, err)
	}
	// The load is an ordinary process: it does not keep a time slice the
	// benchmark process asked for (schedslice) before it started the load.
	if _, err := schedslice.Set(0); err != nil && !errors.Is(err, schedslice.ErrNotSupported) {
		t.Fatalf("reset the load's time slice: %v", err)
	}
	cfg := Config{Rate: rate, Path: os.Getenv(childProgramEnv)}
	if err := Serve(context.Background(), cfg, os.Stdin, os.Stdout, 0); err != nil {
		t.Fatal(err)
	}
}

// StartBackground starts a background load of rate processes a second
// (the exit program, written to a temporary directory, or /bin/true where
// there is none; at most 4 in flight) in the test binary re-executed into
// its test childTest (one that calls RunChild), lets it run for a warm-up,
// and returns the function that stops it and reports the rate it achieved
// from StartBackground's return to the stop as the bg-exec/s metric; call
// that right after the measured loop. A rate of 0 starts nothing and
// reports 0, so that every sub-benchmark has the metric.
func StartBackground(b *testing.B, rate int, childTest string) (stop func()) {
	b.Helper()
	if rate == 0 {
		return func() { b.ReportMetric(0, "bg-exec/s") }
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prog := DefaultPath
	if runtime.GOOS == "linux" {
		if prog, err = WriteExitProgram(b.TempDir(), runtime.GOARCH); err != nil {
			b.Logf("%v: the load starts %s", err, DefaultPath)
			prog = DefaultPath
		}
	}
	cmd := exec.Command(exe, "-test.run=^"+childTest+"$")
	cmd.Env = append(os.Environ(), childEnv+"="+strconv.Itoa(rate), childProgramEnv+"="+prog)
	cmd.Stderr = os.Stderr
	p, err := Spawn(ctx, cmd)
	if err != nil {
		b.Fatal(err)
	}
	stopped := false
	end := func() {
		if stopped {
			return
		}
		stopped = true
		r, err := p.Stop()
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("background exec load over its life: %v", r)
		if r.Err != nil {
			b.Logf("background exec load: %d starts failed, the first: %v", r.Failed, r.Err)
		}
	}
	// A benchmark that fails before its stop still ends the load.
	b.Cleanup(end)
	time.Sleep(benchWarmup)
	from, err := p.Snapshot(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		if stopped {
			return
		}
		to, err := p.Snapshot(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		end()
		// The achieved rate during the measurement, whatever was asked: a
		// machine that cannot keep up shows it here (and in skipped).
		b.ReportMetric(float64(to.Started-from.Started)/(to.Elapsed-from.Elapsed).Seconds(), "bg-exec/s")
	}
}
