package localipc

import "github.com/vcguard/vcguard/agent/proctable"

// sessionOwner is a process's terminal-services session: on Windows a
// notifier's "uid" is its session (CurrentUID).
func sessionOwner(o proctable.Owner) int { return o.Session }
