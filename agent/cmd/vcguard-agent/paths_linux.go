package main

const (
	defaultStateDir   = "/var/lib/vcguard"
	defaultConfigFile = "/etc/vcguard/agent.yaml"
	defaultPolicyDir  = "/etc/vcguard/policy.d"
	defaultStatusFile = "/run/vcguard/status.json"
)
