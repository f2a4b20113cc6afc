package wine

import (
	"os"
	"runtime"
	"testing"
)

// The Windows lane sets VCGUARD_UNDER_WINE=1: there Running must say so;
// everywhere else (Linux CI, a real Windows) it must not.
func TestRunning(t *testing.T) {
	want := os.Getenv("VCGUARD_UNDER_WINE") == "1"
	if runtime.GOOS != "windows" {
		want = false
	}
	if got := Running(); got != want {
		t.Fatalf("Running() = %v, want %v (GOOS %s, VCGUARD_UNDER_WINE=%q)", got, want, runtime.GOOS, os.Getenv("VCGUARD_UNDER_WINE"))
	}
}
