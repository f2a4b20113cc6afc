package agent

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/vcguard/vcguard/agent/proctable"
)

// The states a status file is in.
const (
	// StateRunning: the agent that wrote the file was running then; it
	// still is if its process is (Status.Check).
	StateRunning = "running"
	// StateStopped: the agent stopped cleanly and said so.
	StateStopped = "stopped"
)

// StatusWriter is the agent process that wrote a status file: enough to
// tell one agent from another on the same machine (a developer's `make
// run` beside the installed service) and whether the writer still runs.
type StatusWriter struct {
	PID int32 `json:"pid"`
	// Start is the process's start time in the OS's own unit
	// (proctable.ID.Start): a PID the OS gave to another process since
	// has another start.
	Start int64 `json:"start"`
	// Started is Start on the wall clock.
	Started time.Time `json:"started,omitzero"`
	// Exe is the agent's executable: an installed agent's
	// (/usr/bin/vcguard-agent) is told from a developer's (./bin/…).
	Exe string `json:"exe,omitempty"`
	// Version is the agent build's module version (or commit), as Go
	// stamped it; "" where the build has none.
	Version string `json:"version,omitempty"`
	// StateDir is the agent's state directory, an absolute path: the
	// device key and enrollment this file's Device belongs to.
	StateDir string `json:"state_dir,omitempty"`
}

// thisProcess is this process as a status writer (without StateDir).
var thisProcess = sync.OnceValue(func() StatusWriter {
	w := StatusWriter{PID: int32(os.Getpid()), Version: buildVersion()}
	w.Exe, _ = os.Executable()
	t := proctable.New(proctable.Config{})
	defer t.Close()
	if id, err := t.StartOf(w.PID); err == nil {
		w.Start = id.Start
		w.Started, _ = t.Time(id.Start)
		w.Started = w.Started.UTC()
	}
	return w
})

// buildVersion is the module version the binary was built from, as Go
// stamps it ("v1.2.0", or a pseudo-version naming the commit, "+dirty"
// for a modified tree), else the commit; "" for a build without that
// information (go test, go run, -buildvcs=false).
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	v := bi.Main.Version
	if v == "(devel)" {
		v = ""
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v = "commit " + s.Value[:12]
			}
		}
	}
	return v
}

// Liveness is whether the agent that wrote a status file still runs.
type Liveness int

const (
	// LivenessUnknown: it cannot be told (a file of an older agent that
	// does not name its process, or a process table that may not be read).
	LivenessUnknown Liveness = iota
	// AgentRunning: the writer's process runs, with the same start time.
	AgentRunning
	// AgentStopped: the agent stopped cleanly and marked the file so.
	AgentStopped
	// AgentGone: the file says running, but its writer has exited (a
	// crash, kill -9, power lost) or its PID belongs to another process now.
	AgentGone
)

// StartOf reads the identity of the process holding a PID now
// ((*proctable.Table).StartOf).
type StartOf func(pid int32) (proctable.ID, error)

// Check tells whether the agent that wrote st still runs, by its PID and
// start time in startOf. The error says why it could not be told.
func (st *Status) Check(startOf StartOf) (Liveness, error) {
	switch {
	case st.State == StateStopped:
		return AgentStopped, nil
	case st.Writer.PID <= 0:
		return LivenessUnknown, errors.New("the file does not name the agent's process (written by an older agent)")
	}
	id, err := startOf(st.Writer.PID)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return AgentGone, nil
	case err != nil:
		return LivenessUnknown, fmt.Errorf("pid %d: %w", st.Writer.PID, err)
	case st.Writer.Start != 0 && id.Start != st.Writer.Start:
		// The PID was given to another process since.
		return AgentGone, nil
	case st.Writer.Start == 0:
		return LivenessUnknown, fmt.Errorf("pid %d runs, but the file does not say when its writer started", st.Writer.PID)
	}
	return AgentRunning, nil
}

// LiveStartOf is t.StartOf for Status.Check on this machine: where this
// user may not see other users' processes (Linux /proc mounted with
// hidepid=2), a writer that is not found is reported as not visible
// (os.ErrPermission), not as gone.
func LiveStartOf(t *proctable.Table) StartOf {
	return func(pid int32) (proctable.ID, error) {
		id, err := t.StartOf(pid)
		if errors.Is(err, os.ErrNotExist) && othersProcessesHidden() {
			return id, fmt.Errorf("not visible to this user, who may not see other users' processes (/proc mounted with hidepid): run status as root to tell: %w", os.ErrPermission)
		}
		return id, err
	}
}
