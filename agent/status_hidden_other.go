//go:build !linux

package agent

// othersProcessesHidden: only Linux hides processes from a user this
// way; elsewhere the process table answers "access denied" instead.
func othersProcessesHidden() bool { return false }
