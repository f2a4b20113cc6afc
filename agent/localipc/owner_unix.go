//go:build !windows

package localipc

import "github.com/vcguard/vcguard/agent/proctable"

// sessionOwner is a process's effective uid: whose rights it has.
func sessionOwner(o proctable.Owner) int { return o.EUID }
