//go:build linux || darwin || windows

package enforce

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/vcguard/vcguard/agent/proctable"
)

// system closes process trees through the process table: every member is
// opened by identity (a pidfd on Linux, a process handle on Windows, a
// fresh check of the start time before each signal on macOS).
type system struct {
	self int32
	tab  *proctable.Table
}

func newSystem() *system {
	s := &system{self: int32(os.Getpid()), tab: proctable.New(proctable.Config{})}
	// Read the boot time now, when the agent starts and procwatch reads
	// its own (see startSlack); a failure is retried on use.
	s.tab.Time(0)
	return s
}

// entryOf is a handle's process as a listing shows it.
func entryOf(h *proctable.Handle) proctable.Entry {
	return proctable.Entry{ID: h.ID(), PPID: h.PPID()}
}

// openTarget checks that the process at t.Key.PID is t (start time,
// executable) and opens it.
func (s *system) openTarget(t Target) (*proctable.Handle, error) {
	pid := t.Key.PID
	if pid <= lastSystemPID || pid == s.self {
		return nil, fmt.Errorf("pid %d is %s or the agent: %w", pid, systemProcess, ErrNotTarget)
	}
	h, err := s.tab.OpenPID(pid)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("pid %d: %w", pid, ErrExited)
	case errors.Is(err, proctable.ErrNotProcess):
		return nil, fmt.Errorf("pid %d: %w: %w", pid, err, ErrNotTarget)
	case err != nil:
		return nil, fmt.Errorf("pid %d: %w", pid, err)
	}
	started, err := s.tab.Time(h.ID().Start)
	if err != nil {
		h.Close()
		return nil, err
	}
	if !sameStart(t.Key.Started, started, startSlack) {
		h.Close()
		return nil, fmt.Errorf("pid %d started at %s, but the process found started at %s (the PID was reused): %w",
			pid, started.UTC().Format(time.RFC3339Nano), time.UnixMilli(t.Key.Started).UTC().Format(time.RFC3339Nano), ErrNotTarget)
	}
	if t.Exe != "" {
		exe, err := h.Exe()
		if err != nil {
			alive := h.Alive()
			h.Close()
			if !alive || errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("pid %d: %w", pid, ErrExited)
			}
			return nil, fmt.Errorf("pid %d: read its executable: %w", pid, err)
		}
		if !exeMatches(t.Exe, exe) {
			h.Close()
			return nil, fmt.Errorf("pid %d runs %s, not %s: %w", pid, exe, t.Exe, ErrNotTarget)
		}
	}
	// What was read was about the handle's process only if that process
	// still runs now.
	if !h.Alive() {
		h.Close()
		return nil, fmt.Errorf("pid %d: %w", pid, ErrExited)
	}
	return h, nil
}
