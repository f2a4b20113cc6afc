package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Debian's /usr/bin/chromium is a shell script that execs
// /usr/lib/chromium/chromium: for a moment a process named chromium runs
// /usr/bin/dash. That launcher is no app (issue 14): 20 launches give one
// start and one stop each, never an unverified verdict, never a notice.
func TestLauncherIsNotAnApp(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		if os.Getenv("VCGUARD_REQUIRE_CHROMIUM") != "" {
			t.Fatalf("Debian's chromium is required (VCGUARD_REQUIRE_CHROMIUM): %v", err)
		}
		t.Skipf("no Debian chromium: %v", err)
	}
	if head, err := os.ReadFile("/usr/bin/chromium"); err != nil || !strings.HasPrefix(string(head), "#!") {
		t.Fatalf("/usr/bin/chromium is no start script here (%v); this test needs Debian's", err)
	}
	srv := newServer(t)
	stateDir := filepath.Join(t.TempDir(), "agent")
	startAgent(t, srv, stateDir)
	var devID string
	waitFor(t, 15*time.Second, "the agent's inventory", func() bool {
		devs := srv.devices(t)
		if len(devs) == 0 {
			return false
		}
		devID = devs[0].ID
		var evs []json.RawMessage
		srv.apiEvents(t, "/api/v1/events?type=inventory&device="+devID, &evs)
		return len(evs) > 0
	})

	const launches = 20
	ours := map[int]bool{}
	for range launches {
		cmd := exec.Command("/usr/bin/chromium", "--version")
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Chromium") {
			t.Fatalf("chromium --version: %v: %s", err, out)
		}
		ours[cmd.Process.Pid] = true
	}

	type appEvent struct {
		Type   string `json:"type"`
		PID    int    `json:"pid"`
		AppID  string `json:"app_id"`
		Detail struct {
			App struct {
				App struct {
					Verdict string `json:"verdict"`
					Exe     string `json:"exe"`
				} `json:"app"`
			} `json:"app"`
		} `json:"detail"`
	}
	count := func() (starts, stops map[int]int, bad []string) {
		starts, stops = map[int]int{}, map[int]int{}
		for _, typ := range []string{"app_started", "app_stopped", "app_verdict_changed"} {
			var evs []appEvent
			srv.apiEvents(t, "/api/v1/events?limit=1000&type="+typ+"&device="+devID, &evs)
			for _, e := range evs {
				if !ours[e.PID] {
					continue // another test's chromium
				}
				if e.AppID != "chromium" || e.Detail.App.App.Verdict == "VERDICT_UNVERIFIED" || typ == "app_verdict_changed" {
					bad = append(bad, fmt.Sprintf("%s %d %s %s %s", typ, e.PID, e.AppID, e.Detail.App.App.Verdict, e.Detail.App.App.Exe))
				}
				switch typ {
				case "app_started":
					starts[e.PID]++
				case "app_stopped":
					stops[e.PID]++
				}
			}
		}
		return starts, stops, bad
	}
	var starts, stops map[int]int
	var bad []string
	waitFor(t, 20*time.Second, "a stop for each launch", func() bool {
		starts, stops, bad = count()
		return len(stops) == launches
	})
	for pid := range ours {
		if starts[pid] != 1 || stops[pid] != 1 {
			t.Errorf("pid %d: %d starts and %d stops, want one of each", pid, starts[pid], stops[pid])
		}
	}
	if len(bad) > 0 {
		t.Errorf("the launcher was judged (want only genuine chromium starts and stops):\n%s", strings.Join(bad, "\n"))
	}
	var notices []struct {
		Detail struct {
			UserNotified struct {
				AppID string `json:"app_id"`
			} `json:"user_notified"`
		} `json:"detail"`
	}
	srv.apiEvents(t, "/api/v1/events?limit=1000&type=user_notified&device="+devID, &notices)
	for _, n := range notices {
		if n.Detail.UserNotified.AppID == "chromium" {
			t.Errorf("a notice about chromium was recorded: %+v", n)
		}
	}
}
