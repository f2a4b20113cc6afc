package e2e

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/installer/linux"
	"github.com/vcguard/vcguard/internal/schedslice"
)

// unitCapabilities reads the capabilities the packaged systemd unit leaves
// the agent (CapabilityBoundingSet=), as setpriv spells them: "bpf" for
// CAP_BPF.
func unitCapabilities(t *testing.T) []string {
	t.Helper()
	unit, err := linux.Files.ReadFile(linux.Unit)
	if err != nil {
		t.Fatal(err)
	}
	var caps []string
	sc := bufio.NewScanner(bytes.NewReader(unit))
	for sc.Scan() {
		v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "CapabilityBoundingSet=")
		if !ok {
			continue
		}
		for _, c := range strings.Fields(v) {
			caps = append(caps, strings.ToLower(strings.TrimPrefix(c, "CAP_")))
		}
	}
	if len(caps) == 0 {
		t.Fatalf("%s sets no CapabilityBoundingSet", linux.Unit)
	}
	return caps
}

// agentMode waits for the agent's log to say how it follows processes and
// returns that line.
func agentMode(t *testing.T, logPath string) string {
	t.Helper()
	var line string
	waitFor(t, 15*time.Second, "the agent's process watcher started", func() bool {
		data, _ := os.ReadFile(logPath)
		for l := range strings.Lines(string(data)) {
			if strings.Contains(l, "following process events") || strings.Contains(l, "process events unavailable") {
				line = l
				return true
			}
		}
		return false
	})
	return line
}

// TestAgentUnderPackagedUnitCapabilities runs the real agent as the
// packaged systemd unit does: as root with only the capabilities of its
// CapabilityBoundingSet (setpriv lowers the bounding set before exec, as
// systemd does, so root's capabilities become that set). The agent must
// still load its exec filter, the eBPF programs that wake it only for
// the catalog's apps, must set its scheduler time slice and must detect
// an app. The unit once lacked
// CAP_BPF and CAP_PERFMON: the packaged agent silently fell back to the
// process connector, which wakes it for every process on the machine.
func TestAgentUnderPackagedUnitCapabilities(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the agent runs as root under the unit")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("setpriv (util-linux) is needed to run the agent with the unit's capabilities: %v", err)
	}
	s := newServer(t)
	stateDir := filepath.Join(t.TempDir(), "agent")
	logPath := stateDir + "-agent.log"
	args := append([]string{"--bounding-set=-all,+" + strings.Join(unitCapabilities(t), ",+"), filepath.Join(binDir, "vcguard-agent"), "run"}, s.agentArgs(stateDir)...)
	startCmd(t, "vcguard-agent", logPath, exec.Command(setpriv, args...))
	if line := agentMode(t, logPath); !strings.Contains(line, "mode=exec-filter") {
		// Only a machine that cannot load eBPF even with every
		// capability excuses it: run the agent once more as plain root.
		rootDir := filepath.Join(t.TempDir(), "agent")
		startAgent(t, s, rootDir)
		if rootLine := agentMode(t, rootDir+"-agent.log"); !strings.Contains(rootLine, "mode=exec-filter") {
			t.Skipf("this machine cannot load the exec filter even as root: %s", strings.TrimSpace(rootLine))
		}
		t.Fatalf("with the unit's capabilities the agent does not use its exec filter, as root it does:\n%s", line)
	}
	// It asks for its short time slice where the kernel has one (this
	// test process's own request tells).
	if _, err := schedslice.Set(0); err == nil {
		waitFor(t, 15*time.Second, "the agent's log says it set its time slice", func() bool {
			data, _ := os.ReadFile(logPath)
			return strings.Contains(string(data), "scheduler time slice set")
		})
	}
	app := startFakeApp(t, "zoom")
	waitFor(t, 15*time.Second, "the agent under the unit's capabilities reports zoom", func() bool {
		found, running, _ := appState(s.devices(t), "zoom", app.pid())
		return found && running
	})
}
