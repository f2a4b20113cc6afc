//go:build linux || darwin

package enforce

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vcguard/vcguard/agent/proctable"
)

const (
	// freezeRounds bounds how often the process table is listed while
	// the tree is being frozen: each round stops the descendants not
	// stopped yet, and one of those may have forked just before.
	freezeRounds = 16
	// killWait is how long processes have to go after SIGKILL. Only a
	// process stuck in the kernel (uninterruptible I/O) takes longer.
	killWait = 5 * time.Second
)

// terminate closes t's process tree:
//
//  1. Check that the process at t.Key.PID is t (start time, executable)
//     and get a handle on it (a pidfd on Linux).
//  2. SIGSTOP it first, so that it can no longer start or restart
//     children, then list the process table and SIGSTOP its descendants,
//     round after round until no new one appears.
//  3. SIGTERM every member, root first, then SIGCONT them: a stopped
//     process dies of a SIGTERM it does not handle at once, and one that
//     handles it runs its handler as soon as it continues, with every
//     other member already told to stop. Nothing keeps running between
//     two signals that could restart what was just ended.
//  4. Wait up to killAfter for all to exit. Then stop the survivors
//     again and collect the children they started meanwhile (a root that
//     handles SIGTERM by restarting its workers), SIGKILL them all, and
//     wait for those.
//
// Every member is checked by start time before it is signalled; a member
// that exits on the way is simply skipped.
func (s *system) terminate(t Target, killAfter time.Duration) ([]int32, error) {
	root, err := s.openTarget(t)
	if err != nil {
		return nil, err
	}
	tr := &tree{sys: s, members: []*proctable.Handle{root}, known: map[proctable.ID]bool{root.ID(): true}}
	defer tr.close()
	if err := root.Signal(unix.SIGSTOP); err != nil {
		return nil, signalError("stop", root, err)
	}
	var errs []error
	selfFound, err := tr.grow(tr.members)
	if selfFound {
		// The agent is never its own target: resume the tree, leave it.
		for _, h := range tr.members {
			h.Signal(unix.SIGCONT)
		}
		return nil, fmt.Errorf("pid %d is an ancestor of the agent (pid %d): %w", root.ID().PID, s.self, ErrNotTarget)
	}
	if err != nil {
		// Close what is known rather than leave it stopped.
		errs = append(errs, err)
	}

	for _, h := range tr.members {
		if err := h.Signal(unix.SIGTERM); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, signalError("terminate", h, err))
		}
	}
	for _, h := range tr.members {
		h.Signal(unix.SIGCONT)
	}
	left := s.tab.Wait(tr.members, killAfter)
	if len(left) > 0 {
		for _, h := range left {
			h.Signal(unix.SIGSTOP)
		}
		n := len(tr.members)
		if _, err := tr.grow(left); err != nil {
			errs = append(errs, err)
		}
		left = append(left, tr.members[n:]...)
		for _, h := range left {
			if err := h.Signal(unix.SIGKILL); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, signalError("kill", h, err))
			}
		}
		left = s.tab.Wait(left, killWait)
	}
	var killed []int32
	for _, h := range tr.members {
		if !slices.Contains(left, h) {
			killed = append(killed, h.ID().PID)
		}
	}
	if len(left) > 0 {
		pids := make([]int32, len(left))
		for i, h := range left {
			pids[i] = h.ID().PID
		}
		errs = append(errs, fmt.Errorf("pids %v still run %v after SIGKILL", pids, killWait))
	}
	return killed, errors.Join(errs...)
}

// tree is the process tree being closed.
type tree struct {
	sys     *system
	members []*proctable.Handle // the root first, then parents before children
	known   map[proctable.ID]bool
}

// grow lists the process table and adds the descendants of from that are
// not members yet, stopping each, round after round until a listing finds
// none: a process may fork just before it stops. It reports whether the agent
// itself was found among them (it is not added).
func (tr *tree) grow(from []*proctable.Handle) (selfFound bool, err error) {
	for range freezeRounds {
		all, err := tr.sys.tab.List()
		if err != nil {
			return selfFound, fmt.Errorf("find the children of pid %d: %w", tr.members[0].ID().PID, err)
		}
		added := 0
		for _, parent := range from {
			for _, e := range proctable.Descendants(entryOf(parent), all) {
				if tr.known[e.ID] {
					continue
				}
				tr.known[e.ID] = true
				if e.PID == tr.sys.self {
					selfFound = true
					continue
				}
				h, err := tr.sys.tab.Open(e.ID)
				if err != nil {
					continue // exited since the listing
				}
				if h.Signal(unix.SIGSTOP) != nil {
					h.Close()
					continue
				}
				tr.members = append(tr.members, h)
				added++
			}
		}
		if added == 0 {
			return selfFound, nil
		}
	}
	return selfFound, nil
}

func (tr *tree) close() {
	for _, h := range tr.members {
		h.Close()
	}
}

func signalError(what string, h *proctable.Handle, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s pid %d: %w", what, h.ID().PID, ErrExited)
	}
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("%s pid %d: %w (the agent must run as root)", what, h.ID().PID, err)
	}
	return fmt.Errorf("%s pid %d: %w", what, h.ID().PID, err)
}
