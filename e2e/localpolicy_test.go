package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLocalPolicyDropIn: an MDM drop-in file beside the central policy is
// applied by the running agent within a second (fsnotify), the strictest
// finding wins, a broken update is reported (log, status, server) while
// the last good content stays in force, and removing the file lifts it.
func TestLocalPolicyDropIn(t *testing.T) {
	s := newServer(t)
	stateDir := filepath.Join(t.TempDir(), "agent")
	policyDir := stateDir + "-policy.d"
	if err := os.Mkdir(policyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	startAgent(t, s, stateDir)
	waitFor(t, 15*time.Second, "the agent online with policy 1", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].PolicyVersion == 1
	})
	zoom := startGenuineZoom(t)
	verdict := func() string {
		app, _ := appOf(s.devices(t), "zoom", zoom.pid())
		return app.Verdict
	}
	waitFor(t, 10*time.Second, "zoom restricted under the central policy", func() bool { return verdict() == "restricted" })

	file := filepath.Join(policyDir, "ward.yaml")
	writeFile := func(content string) {
		t.Helper()
		if err := os.WriteFile(file+".tmp", []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	writeFile("name: Ward 7\napps:\n  zoom: {status: forbidden, alternative: jitsi-meet}\n  jitsi-meet: {status: approved}\n")
	waitFor(t, 5*time.Second, "zoom forbidden by the drop-in", func() bool { return verdict() == "forbidden" })
	took := time.Since(start)
	t.Logf("drop-in written → verdict forbidden in the server's API: %s (includes 50 ms polling of the API)", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("the drop-in took %s to apply; want about a second at most", took)
	}

	// A broken update: refused with file and line, the last good stays.
	writeFile("name: Ward 7\napps:\n  zoom: {status: maybe}\n")
	var events []struct {
		Type   string `json:"type"`
		Detail struct {
			LocalPolicy struct {
				Files []struct {
					Path  string `json:"path"`
					Name  string `json:"name"`
					Error string `json:"error"`
				} `json:"files"`
			} `json:"local_policy"`
		} `json:"detail"`
	}
	devID := s.devices(t)[0].ID
	waitFor(t, 5*time.Second, "the refusal reported to the server", func() bool {
		if code := s.apiEvents(t, "/api/v1/events?type=local_policy&device="+devID, &events); code != http.StatusOK {
			t.Fatalf("events: %d", code)
		}
		return len(events) > 0 && len(events[0].Detail.LocalPolicy.Files) == 1 && events[0].Detail.LocalPolicy.Files[0].Error != ""
	})
	f := events[0].Detail.LocalPolicy.Files[0]
	if !strings.Contains(f.Error, "ward.yaml:3") || f.Name != "Ward 7" {
		t.Errorf("reported %+v; want the error naming ward.yaml:3 and Ward 7 still in force", f)
	}
	if v := verdict(); v != "forbidden" {
		t.Errorf("verdict %q after the broken update; the last good drop-in must stay in force", v)
	}
	// The person at the keyboard sees it too.
	out, err := runCmd(context.Background(), "vcguard-agent", "status", "--state-dir", stateDir, "--status-file", stateDir+"-status.json")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	for _, want := range []string{"European default", "version 1", "Ward 7", "refused", "ward.yaml:3", "Zoom Workplace", "forbidden", "Reported:"} {
		if !strings.Contains(out, want) {
			t.Errorf("status does not show %q:\n%s", want, out)
		}
	}

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "zoom restricted again without the drop-in", func() bool { return verdict() == "restricted" })
}
