package enforce

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vcguard/vcguard/agent/proctable"
)

// lastSystemPID is the last PID never to close: the System process (4).
const (
	lastSystemPID = 4
	systemProcess = "the System process"
)

// startSlack: the kernel keeps the creation time as a FILETIME, so it
// matches the key to the millisecond.
const startSlack = 0

// exeMatches compares Windows paths, which ignore case.
func exeMatches(want, got string) bool { return strings.EqualFold(want, got) }

// terminate closes t's process tree. Windows offers a service no signal
// an app can handle (WM_CLOSE would need the user's desktop), so members
// are ended with TerminateProcess:
//
//  1. Check that the process at t.Key.PID is t (creation time,
//     executable) and open it.
//  2. List the process table and open every descendant, checking its
//     creation time, before ending anything. The handles keep the PIDs of
//     the tree from being reused, so ParentProcessID, which Windows does
//     not update when a parent exits, stays true while members go.
//  3. End the root first, so that it cannot start more children, then the
//     others, parents before children.
//  4. List again for children started meanwhile, until none appears, and
//     wait up to killAfter for all to be gone.
func (s *system) terminate(t Target, killAfter time.Duration) ([]int32, error) {
	root, err := s.openTarget(t)
	if err != nil {
		return nil, err
	}
	tree := []*proctable.Handle{root}
	defer func() {
		for _, h := range tree {
			h.Close()
		}
	}()
	known := map[proctable.ID]bool{root.ID(): true}
	var errs []error
	ended := 0 // tree[:ended] were ended
	for round := range 16 {
		all, err := s.tab.List()
		all = s.tab.WithStarts(all)
		if err != nil {
			errs = append(errs, fmt.Errorf("find the children of pid %d: %w", root.ID().PID, err))
			if round > 0 {
				break
			}
			all = nil // end the root at least
		}
		added := 0
		for _, e := range proctable.Descendants(entryOf(root), all) {
			if known[e.ID] {
				continue
			}
			known[e.ID] = true
			if e.PID == s.self {
				if round == 0 {
					return nil, fmt.Errorf("pid %d is an ancestor of the agent (pid %d): %w", root.ID().PID, s.self, ErrNotTarget)
				}
				continue
			}
			h, err := s.tab.Open(e.ID)
			if err != nil {
				continue // exited since the listing
			}
			tree = append(tree, h)
			added++
		}
		for _, h := range tree[ended:] {
			if err := h.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("terminate pid %d: %w", h.ID().PID, err))
			}
		}
		ended = len(tree)
		if added == 0 && round > 0 {
			break
		}
	}
	var killed []int32
	left := s.tab.Wait(tree, killAfter)
	for _, h := range tree {
		if !slices.Contains(left, h) {
			killed = append(killed, h.ID().PID)
		}
	}
	if len(left) > 0 {
		pids := make([]int32, len(left))
		for i, h := range left {
			pids[i] = h.ID().PID
		}
		errs = append(errs, fmt.Errorf("pids %v still run %v after TerminateProcess", pids, killAfter))
	}
	return killed, errors.Join(errs...)
}
