//go:build !linux && !darwin && !windows

package notify

import (
	"errors"
	"fmt"
	"runtime"
)

// OpenSystemDisplay reports that notifications are not implemented on
// this platform.
func OpenSystemDisplay(appName string) (SystemDisplay, error) {
	return nil, fmt.Errorf("notifications on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
