//go:build !linux && !darwin && !windows

package main

const (
	defaultStateDir   = "/var/lib/vcguard"
	defaultConfigFile = "/etc/vcguard/agent.yaml"
	defaultPolicyDir  = "/etc/vcguard/policy.d"
	defaultStatusFile = "/var/run/vcguard/status.json"
)
