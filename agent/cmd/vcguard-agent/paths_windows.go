package main

const (
	defaultStateDir   = `C:\ProgramData\vcguard`
	defaultConfigFile = `C:\ProgramData\vcguard\agent.yaml`
	defaultPolicyDir  = `C:\ProgramData\vcguard\policy.d`
	defaultStatusFile = `C:\ProgramData\vcguard\status.json`
)
