package enforce

import "github.com/vcguard/vcguard/agent/procwatch"

// parseProcArgs2 returns the executable path from macOS kern.procargs2,
// decoded as procwatch does so that it compares equal to Target.Exe.
func parseProcArgs2(b []byte) (string, error) { return procwatch.ParseProcArgs2(b) }
