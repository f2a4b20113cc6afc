package main

const (
	defaultStateDir   = "/Library/Application Support/vcguard"
	defaultConfigFile = "/Library/Application Support/vcguard/agent.yaml"
)
