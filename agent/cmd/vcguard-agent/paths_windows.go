package main

const (
	defaultStateDir   = `C:\ProgramData\vcguard`
	defaultConfigFile = `C:\ProgramData\vcguard\agent.yaml`
)
