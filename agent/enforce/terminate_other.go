//go:build !linux && !darwin && !windows

package enforce

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// system is not implemented on this OS.
type system struct{}

func newSystem() *system { return &system{} }

func (s *system) terminate(t Target, killAfter time.Duration) ([]int32, error) {
	return nil, fmt.Errorf("close pid %d: not implemented on %s: %w", t.Key.PID, runtime.GOOS, errors.ErrUnsupported)
}
