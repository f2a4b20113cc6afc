package execload

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The test binary is also the program the loads start (it exits at once
// when its first argument is childExit, so every OS runs these tests) and
// the load process Spawn starts (with envServe set).
const (
	childExit = "execload-test-exit"
	envServe  = "VCGUARD_EXECLOAD_TEST_SERVE" // the rate; "bad" for an invalid config
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childExit {
		os.Exit(0)
	}
	if v := os.Getenv(envServe); v != "" {
		cfg := Config{Rate: 100, Path: self(), Args: []string{childExit}, MaxInFlight: 2}
		if v == "bad" {
			cfg.Rate = 0
		}
		if err := Serve(context.Background(), cfg, os.Stdin, os.Stdout, 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func self() string {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return exe
}

// waitStarted waits (no longer than a minute: Wine starts processes
// slowly) until l has started n processes.
func waitStarted(t *testing.T, l *Load, n int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for l.Snapshot().Started < n {
		if time.Now().After(deadline) {
			t.Fatalf("the load started %+v, want %d processes within a minute", l.Snapshot(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	notExe := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(notExe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string // in the error; "" for valid
	}{
		{"valid", Config{Rate: 1000, Path: self()}, ""},
		{"a file, executable or not", Config{Rate: 1, Path: notExe, MaxInFlight: 1}, ""},
		{"no rate", Config{Path: self()}, "rate 0"},
		{"negative rate", Config{Rate: -1, Path: self()}, "rate -1"},
		{"rate too high", Config{Rate: MaxRate + 1, Path: self()}, "out of range"},
		{"negative in flight", Config{Rate: 1, Path: self(), MaxInFlight: -1}, "in flight"},
		{"relative path", Config{Rate: 1, Path: "true"}, "absolute path"},
		{"missing program", Config{Rate: 1, Path: filepath.Join(t.TempDir(), "none")}, "program"},
		{"a directory", Config{Rate: 1, Path: t.TempDir()}, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error with %q", err, tt.want)
			}
			if tt.want != "" {
				if l, err := Start(context.Background(), tt.cfg); err == nil {
					l.Stop()
					t.Error("Start accepted the config")
				}
			}
		})
	}
}

// A load starts processes, reaps them, keeps within its bound in flight,
// and never starts more than its schedule allows.
func TestLoad(t *testing.T) {
	t.Parallel()
	cfg := Config{Rate: 200, Path: self(), Args: []string{childExit}, MaxInFlight: 2}
	l, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitStarted(t, l, 5)
	r := l.Stop()
	if r.Failed != 0 || r.Err != nil {
		t.Errorf("failed %d, first error %v; want none", r.Failed, r.Err)
	}
	if r.Peak < 1 || r.Peak > int64(cfg.MaxInFlight) {
		t.Errorf("peak in flight %d, want 1 to %d", r.Peak, cfg.MaxInFlight)
	}
	if n := l.inflight.Load(); n != 0 {
		t.Errorf("%d processes still in flight after Stop", n)
	}
	// Slot i is handed out no earlier than i/Rate after the start, and the
	// load's end is taken after the last one: a pacing invariant, not a
	// speed.
	if most := r.Elapsed.Seconds()*float64(cfg.Rate) + 1; float64(r.Started+r.Failed) > most+1e-6 {
		t.Errorf("%d processes in %v at %d/s: more than the schedule's %.0f", r.Started+r.Failed, r.Elapsed, cfg.Rate, most)
	}
	if r.Target != cfg.Rate || r.Rate() <= 0 {
		t.Errorf("result %v: want target %d and a rate", r, cfg.Rate)
	}
	if again := l.Stop(); again != r {
		t.Errorf("second Stop = %v, want %v", again, r)
	}
	if s := l.Snapshot(); s.Elapsed != r.Elapsed || s.Started != r.Started {
		t.Errorf("Snapshot after Stop = %v, want %v", s, r)
	}
}

// A load ends with its context; Stop still reaps and reports.
func TestLoadEndsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	l, err := Start(ctx, Config{Rate: 500, Path: self(), Args: []string{childExit}})
	if err != nil {
		t.Fatal(err)
	}
	waitStarted(t, l, 1)
	cancel()
	l.wg.Wait() // the dispatcher and the workers end on their own
	r := l.Stop()
	if r.Started < 1 || r.Peak > DefaultMaxInFlight || l.inflight.Load() != 0 {
		t.Errorf("result %v, %d in flight; want at least one started, at most %d at once, none left", r, l.inflight.Load(), DefaultMaxInFlight)
	}
}

// Starts that fail are counted, with the first error, and the load goes on.
func TestLoadCountsFailures(t *testing.T) {
	t.Parallel()
	notExe := filepath.Join(t.TempDir(), "not-a-program")
	if err := os.WriteFile(notExe, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Start(context.Background(), Config{Rate: 1000, Path: notExe, MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for l.Snapshot().Failed < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	r := l.Stop()
	if r.Failed < 3 || r.Started != 0 || r.Err == nil {
		t.Errorf("result %v, first error %v; want 3 or more failed, none started, an error", r, r.Err)
	}
}

func TestResultLine(t *testing.T) {
	t.Parallel()
	r := Result{Target: 1000, Started: 60012, Failed: 2, Skipped: 7, Peak: 3, Elapsed: 60011 * time.Millisecond,
		Err: errors.New("exec load: fork/exec /bin/true: resource temporarily unavailable")}
	line := resultLine(r)
	want := "execload result target=1000 started=60012 failed=2 skipped=7 peak=3 elapsed_s=60.011 rate=1000.0 err=exec load: fork/exec /bin/true: resource temporarily unavailable"
	if line != want {
		t.Fatalf("resultLine =\n%s\nwant\n%s", line, want)
	}
	got, err := parseResult(strings.TrimPrefix(line, lineResult+" "))
	if err != nil {
		t.Fatal(err)
	}
	if got.Err == nil || got.Err.Error() != r.Err.Error() {
		t.Errorf("parsed error %v, want %v", got.Err, r.Err)
	}
	got.Err, r.Err = nil, nil
	if got != r {
		t.Errorf("parsed %+v, want %+v", got, r)
	}
	for _, bad := range []string{"", "target", "started=x", "elapsed_s=one", "rate=fast"} {
		if r, err := parseResult(bad); err == nil {
			t.Errorf("parseResult(%q) = %+v, want an error", bad, r)
		}
	}
	// A field added later is skipped.
	if r, err := parseResult("started=5 burst=2"); err != nil || r.Started != 5 {
		t.Errorf("parseResult with an unknown field = %+v, %v", r, err)
	}
}

// Spawn runs the load in a child process (this test binary serving it)
// and reads its result back when stopped.
func TestSpawn(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.Command(self())
	cmd.Env = append(os.Environ(), envServe+"=100")
	p, err := Spawn(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	var snaps []Result
	for range 2 {
		s, err := p.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, s)
	}
	r, err := p.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if a, b := snaps[0], snaps[1]; b.Started < a.Started || b.Elapsed < a.Elapsed || r.Started < b.Started || r.Elapsed < b.Elapsed || a.Target != 100 {
		t.Errorf("snapshots %v, %v then result %v: want counts that only grow, target 100", a, b, r)
	}
	if r.Target != 100 || r.Failed != 0 || r.Err != nil || r.Peak > 2 {
		t.Errorf("result %v, error %v; want target 100, none failed, at most 2 in flight", r, r.Err)
	}
}

// A child that cannot start its load is reported with its output.
func TestSpawnFailure(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.Command(self())
	cmd.Env = append(os.Environ(), envServe+"=bad")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if p, err := Spawn(ctx, cmd); err == nil {
		p.Stop()
		t.Fatal("Spawn succeeded with a child whose load cannot start")
	} else if !strings.Contains(err.Error(), "ended before its load started") {
		t.Errorf("Spawn error %v, want it to say the load did not start", err)
	}
	if !strings.Contains(stderr.String(), "rate 0") {
		t.Errorf("child's stderr %q, want its reason", stderr.String())
	}
}
