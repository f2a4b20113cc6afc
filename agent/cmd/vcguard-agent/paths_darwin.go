package main

const (
	defaultStateDir   = "/Library/Application Support/vcguard"
	defaultConfigFile = "/Library/Application Support/vcguard/agent.yaml"
	defaultPolicyDir  = "/Library/Application Support/vcguard/policy.d"
	defaultStatusFile = "/var/run/vcguard/status.json"
)
