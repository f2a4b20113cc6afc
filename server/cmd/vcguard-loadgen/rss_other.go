//go:build !linux

package main

import (
	"errors"
	"fmt"
)

// readRSS is implemented on Linux only (/proc/PID/status).
func readRSS(pid int) (int64, error) {
	return 0, fmt.Errorf("read the memory of process %d: %w (--server-pid needs Linux)", pid, errors.ErrUnsupported)
}
