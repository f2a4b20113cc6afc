package main

// The state directory is the agent's alone (SYSTEM and Administrators; the
// agent gives it a protected access list). The status file has a directory
// of its own inside it, which users may read: Windows lets everyone pass
// through a directory they may not list (the "bypass traverse checking"
// right), so `vcguard-agent status` reads it as any user.
const (
	defaultStateDir   = `C:\ProgramData\vcguard`
	defaultConfigFile = `C:\ProgramData\vcguard\agent.yaml`
	defaultPolicyDir  = `C:\ProgramData\vcguard\policy.d`
	defaultStatusFile = `C:\ProgramData\vcguard\status\status.json`
)
