package procwatch

import (
	"testing"

	"github.com/vcguard/vcguard/internal/execload"
)

// TestExecLoadProcess is not a test: it is the background exec load of
// the latency benchmarks (StartExecLoad), run only in the test binary
// they start (execload.RunChild).
func TestExecLoadProcess(t *testing.T) { execload.RunChild(t) }

// ExecLoads are the background loads, in exec/s, the latency benchmarks
// run under (execload.BenchLoads).
func ExecLoads() []int { return execload.BenchLoads() }

// StartExecLoad starts the background load of a latency benchmark
// (execload.StartBackground) in this test binary.
func StartExecLoad(b *testing.B, rate int) (stop func()) {
	b.Helper()
	return execload.StartBackground(b, rate, "TestExecLoadProcess")
}
