//go:build !windows

package main

// setRecovery does nothing here: the systemd unit and the launchd job that
// kardianos/service writes restart the agent themselves (Restart=always,
// KeepAlive).
func setRecovery(string) error { return nil }
