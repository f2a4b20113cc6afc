package agent

import (
	"testing"

	"github.com/vcguard/vcguard/internal/execload"
)

// TestExecLoadProcess is not a test: it is the background exec load of
// BenchmarkExecToFinding, run only in the test binary it starts
// (execload.RunChild).
func TestExecLoadProcess(t *testing.T) { execload.RunChild(t) }
