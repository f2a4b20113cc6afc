package enforce

import "github.com/vcguard/vcguard/agent/proctable"

// lastSystemPID is the last PID never to close: launchd.
const (
	lastSystemPID = 1
	systemProcess = "launchd"
)

// startSlack: the kernel keeps the start as a wall-clock time, so it
// matches the key to the millisecond.
const startSlack = 0

// exeMatches: see proctable.SameExe.
func exeMatches(want, got string) bool { return proctable.SameExe(want, got) }
