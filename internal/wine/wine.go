// Package wine tells whether the process runs under Wine, for tests that
// must skip a check Wine cannot do (each such skip names the Wine
// limitation it hit, proven in the Windows lane: scripts/test-windows.sh).
// Product code never asks: it behaves as on Windows.
package wine

// Running reports whether this process runs under Wine.
func Running() bool { return running() }
