//go:build !linux && !darwin && !windows

package appid

import (
	"context"
	"runtime"
)

// inspectOS: nothing is known about executables on this OS.
func (in *Inspector) inspectOS(ctx context.Context, pid int32, exe string, c Candidate) Info {
	return Info{Path: exe, Reason: "not implemented on " + runtime.GOOS}
}
