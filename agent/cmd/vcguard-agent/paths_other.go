//go:build !linux && !darwin && !windows

package main

const (
	defaultStateDir   = "/var/lib/vcguard"
	defaultConfigFile = "/etc/vcguard/agent.yaml"
)
