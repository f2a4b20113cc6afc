package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/outbox"
	"github.com/vcguard/vcguard/agent/proctable"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/uplink"
	"github.com/vcguard/vcguard/policies"
)

// Check tells a running writer from a stopped, a gone and an unknown one.
func TestStatusCheck(t *testing.T) {
	t.Parallel()
	running := StatusWriter{PID: 4242, Start: 1000}
	table := func(id proctable.ID, err error) StartOf {
		return func(pid int32) (proctable.ID, error) {
			if err != nil {
				return proctable.ID{}, err
			}
			return proctable.ID{PID: pid, Start: id.Start}, nil
		}
	}
	notFound := fmt.Errorf("process not found: %w", os.ErrNotExist)
	for _, tc := range []struct {
		name    string
		st      Status
		startOf StartOf
		want    Liveness
		wantErr bool
	}{
		{"writer runs", Status{State: StateRunning, Writer: running}, table(proctable.ID{Start: 1000}, nil), AgentRunning, false},
		{"stopped cleanly", Status{State: StateStopped, Writer: running}, table(proctable.ID{Start: 1000}, nil), AgentStopped, false},
		{"writer gone (crash, kill -9)", Status{State: StateRunning, Writer: running}, table(proctable.ID{}, notFound), AgentGone, false},
		{"pid reused by another process", Status{State: StateRunning, Writer: running}, table(proctable.ID{Start: 2000}, nil), AgentGone, false},
		{"process table refused", Status{State: StateRunning, Writer: running}, table(proctable.ID{}, fmt.Errorf("open: %w", os.ErrPermission)), LivenessUnknown, true},
		{"file of an older agent", Status{}, table(proctable.ID{Start: 1000}, nil), LivenessUnknown, true},
		{"writer without start time", Status{State: StateRunning, Writer: StatusWriter{PID: 4242}}, table(proctable.ID{Start: 1000}, nil), LivenessUnknown, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.st.Check(tc.startOf)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("Check = %v, %v; want %v (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// oneReport is a process source that reports procs once, then waits.
type oneReport struct{ procs []procwatch.Process }

func (o oneReport) Run(ctx context.Context, emit func(procwatch.Changes)) error {
	emit(procwatch.Changes{Full: true, Started: o.procs})
	<-ctx.Done()
	return nil
}

// statusAgent is an agent with a status file that sees Zoom running.
func statusAgent(t testing.TB, stateDir, statusFile string) *Agent {
	t.Helper()
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	out, err := outbox.Open(filepath.Join(stateDir, "outbox"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	a, err := New(Config{
		StateDir: stateDir, Outbox: out, Catalog: cat, GOOS: "linux", StatusFile: statusFile,
		Identifier: fakeIdentifier{}, Processes: oneReport{[]procwatch.Process{proc(100, "zoom", 10)}},
		Parent: func(int32) (int32, error) { return 1, nil },
	}, &uplink.Identity{DeviceID: "dev-1", Server: "vcguard.example:8443"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// waitStatus waits for the status file to show an app.
func waitStatus(t testing.TB, path string) *Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := ReadStatus(path)
		if err == nil && len(st.Apps) > 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no status with an app in %s: %v", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The status file names its writer while the agent runs, and says stopped,
// with no apps, once it stopped.
func TestStatusFileRunningThenStopped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "run", "status.json")
	a := statusAgent(t, filepath.Join(dir, "state"), path)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	st := waitStatus(t, path)
	if st.State != StateRunning || st.Writer.PID != int32(os.Getpid()) || st.Writer.Start == 0 || st.Writer.Started.IsZero() ||
		st.Writer.Exe == "" || st.Writer.StateDir != filepath.Join(dir, "state") || st.Device != "dev-1" || st.Apps[0].Name != "Zoom Workplace" {
		t.Errorf("running status: %+v", st)
	}
	if time.Since(st.Writer.Started) < 0 || time.Since(st.Writer.Started) > time.Hour {
		t.Errorf("writer started %v; want this test process's start", st.Writer.Started)
	}
	table := proctable.New(proctable.Config{})
	defer table.Close()
	if live, err := st.Check(table.StartOf); live != AgentRunning {
		t.Errorf("Check of this process's file = %v, %v; want running", live, err)
	}
	if err := a.WriteStopped(nil); err == nil {
		t.Error("WriteStopped while Run runs succeeded")
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := a.WriteStopped(errors.New("process watcher: boom")); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateStopped || st.Stopped.IsZero() || st.StopError != "process watcher: boom" || len(st.Apps) != 0 || st.Writer.PID != int32(os.Getpid()) {
		t.Errorf("stopped status: %+v", st)
	}
	if live, _ := st.Check(table.StartOf); live != AgentStopped {
		t.Errorf("Check of the stopped file = %v; want stopped", live)
	}
}

// helperEnv makes the test binary a helper: an agent writing its status
// to the file the variable names, until it is killed.
const helperEnv = "VCGUARD_STATUS_HELPER"

// TestStatusHelperProcess is the helper TestStatusOfKilledAgent starts;
// run directly it does nothing.
func TestStatusHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("a helper process of TestStatusOfKilledAgent")
	}
	a := statusAgent(t, filepath.Join(filepath.Dir(path), "state"), path)
	go a.Run(context.Background())
	waitStatus(t, path)
	fmt.Println("ready")
	time.Sleep(10 * time.Minute) // until killed (a bare select{} is a deadlock the runtime ends)
}

// A real agent process writes its status and is killed: the file still
// says running, and Check says its writer is gone.
func TestStatusOfKilledAgent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "status.json")
	cmd := exec.Command(os.Args[0], "-test.run=^TestStatusHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	go io.Copy(io.Discard, stdout)

	st, err := ReadStatus(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Writer.PID != int32(cmd.Process.Pid) {
		t.Fatalf("status written by pid %d; want the helper's %d", st.Writer.PID, cmd.Process.Pid)
	}
	table := proctable.New(proctable.Config{})
	defer table.Close()
	if live, err := st.Check(table.StartOf); live != AgentRunning {
		t.Fatalf("Check while the helper runs = %v, %v; want running", live, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	st, err = ReadStatus(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateRunning || len(st.Apps) == 0 {
		t.Errorf("a killed agent's file: %+v; want it as the agent left it", st)
	}
	if live, err := st.Check(table.StartOf); live != AgentGone {
		t.Errorf("Check after the helper was killed = %v, %v; want gone", live, err)
	}
}
