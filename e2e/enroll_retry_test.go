package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEnrollWaitsForServer: an agent rolled out before its server answers
// (no network yet, the server being upgraded) keeps trying instead of
// exiting, and enrolls once the server is up.
func TestEnrollWaitsForServer(t *testing.T) {
	s := newServer(t)
	s.proc.stop(t) // its data directory (CA, secret) stays
	stateDir := filepath.Join(t.TempDir(), "agent")
	agent := startAgent(t, s, stateDir)
	waitFor(t, 20*time.Second, "the agent retrying the enrollment", func() bool {
		log, _ := os.ReadFile(stateDir + "-agent.log")
		return strings.Contains(string(log), "enrollment failed; retrying")
	})
	select {
	case <-agent.done:
		t.Fatalf("the agent exited while the server was down: %v", agent.err)
	default:
	}
	restarted, err := tryStartServer(t, s.data, s.grpcAddr, s.httpAddr)
	if err != nil {
		t.Fatalf("restart the server on its ports: %v", err)
	}
	waitFor(t, 30*time.Second, "the agent enrolled and online", func() bool {
		devs := restarted.devices(t)
		return len(devs) == 1 && devs[0].Online
	})
}
