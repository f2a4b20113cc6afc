package e2e

import (
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/notify/notifytest"
)

// posture is an app_posture event as GET /api/v1/events lists it.
type posture struct {
	AppID  string `json:"app_id"`
	Detail struct {
		AppPosture struct {
			AppID    string `json:"app_id"`
			PID      int    `json:"pid"`
			Session  string `json:"session"`
			Findings []struct {
				Kind         string `json:"kind"`
				Where        string `json:"where"`
				Detail       string `json:"detail"`
				PolicyAction string `json:"policy_action"`
			} `json:"findings"`
			Errors []string `json:"errors"`
		} `json:"app_posture"`
	} `json:"detail"`
}

// TestUpdatesOffIsAFindingAndANotice: the real agent, a genuine Discord
// stand-in (root-owned, where Discord's package installs it) that its
// owner has set to skip its updates (settings.json SKIP_HOST_UPDATE, the
// catalog's check; the file is one committed from a real machine, see
// agent/posture/testdata/catalog/README.md), and a policy that
// approves Discord and warns of updates switched off: the server records
// the finding with where it was read and the action, and the employee's
// notifier shows the notice in their language.
func TestUpdatesOffIsAFindingAndANotice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("installing under /opt and writing the owner's settings need root (CI runs as root)")
	}
	// The stand-in runs as root, whose home the agent finds in the
	// account database; its Discord settings go there, and only if
	// nothing of a real Discord is.
	me, err := user.Current()
	if err != nil || me.HomeDir == "" {
		t.Fatalf("root's home: %v", err)
	}
	settingsDir := filepath.Join(me.HomeDir, ".config", "discord")
	if _, err := os.Stat(settingsDir); err == nil {
		t.Fatalf("%s exists: this test writes Discord's settings there and will not touch a real one", settingsDir)
	}
	const optDir = "/opt/discord"
	if _, err := os.Stat(optDir); err == nil {
		t.Fatalf("%s exists: this test installs a stand-in there and will not touch a real Discord", optDir)
	}
	if err := os.MkdirAll(settingsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(settingsDir) })
	fixture, err := os.ReadFile(filepath.Join("..", "agent", "posture", "testdata", "catalog", "discord", "0-holds-real1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(settingsDir, "settings.json"), fixture, 0o600); err != nil {
		t.Fatal(err)
	}

	addr := notifytest.StartSessionBus(t)
	daemon := notifytest.StartServer(t, addr, "body", "actions")
	srv := newServer(t)
	stateDir := filepath.Join(t.TempDir(), "agent")
	args := srv.agentArgs(stateDir)
	startAgent(t, srv, stateDir)
	socket := args[slices.Index(args, "--notify-socket")+1]
	doc := []byte("name: Updates on\napps:\n  discord: {status: approved}\nactions:\n  posture: {updates_off: warn}\n")
	if code := srv.api(t, http.MethodPost, "/api/v1/policies?comment=e2e", doc, nil); code != http.StatusCreated {
		t.Fatalf("publish: %d", code)
	}
	var devID string
	waitFor(t, 15*time.Second, "the agent on policy 2", func() bool {
		devs := srv.devices(t)
		if len(devs) == 1 && devs[0].PolicyVersion == 2 {
			devID = devs[0].ID
			return true
		}
		return false
	})
	startNotifier(t, socket, filepath.Join(filepath.Dir(stateDir), "notifier.log"),
		"LANG=nl_NL.UTF-8", "DBUS_SESSION_BUS_ADDRESS="+addr, "XDG_SESSION_ID=e2e-posture")

	if err := os.MkdirAll(optDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(optDir) })
	app := startCopy(t, "sleep", filepath.Join(optDir, "Discord"), "600")
	waitFor(t, 15*time.Second, "the genuine Discord approved", func() bool {
		a, ok := appOf(srv.devices(t), "discord", app.pid())
		return ok && a.Verified && a.Verdict == "approved"
	})

	var got posture
	waitFor(t, 15*time.Second, "an app_posture event for Discord", func() bool {
		var evs []posture
		if code := srv.apiEvents(t, "/api/v1/events?type=app_posture&limit=100&device="+devID, &evs); code != http.StatusOK {
			t.Fatalf("GET app_posture events: %d", code)
		}
		for _, e := range evs {
			if e.Detail.AppPosture.AppID == "discord" && e.Detail.AppPosture.PID == app.pid() {
				got = e
				return true
			}
		}
		return false
	})
	p := got.Detail.AppPosture
	var updates []string
	for _, f := range p.Findings {
		if f.Kind == "POSTURE_KIND_UPDATES_OFF" {
			updates = append(updates, f.Where+" = "+f.Detail+" → "+f.PolicyAction)
		}
	}
	if want := "~/.config/discord/settings.json (SKIP_HOST_UPDATE) = true → ACTION_WARN"; !slices.Equal(updates, []string{want}) {
		t.Errorf("updates findings %q, want %q (event %+v)", updates, want, p)
	}
	if p.Session != "uid 0" || len(p.Errors) != 0 {
		t.Errorf("event session %q, errors %q; want uid 0 and none", p.Session, p.Errors)
	}

	const title = "Discord: automatische updates staan uit" // posture_title_updates_off in Dutch
	var shown notifytest.Call
	waitFor(t, 15*time.Second, "the notice on the test's notification server", func() bool {
		var ok bool
		shown, ok = daemon.Find(title)
		return ok
	})
	if !strings.Contains(shown.Body, "Automatische updates van Discord staan op deze computer uit") {
		t.Errorf("notice body %q is not the Dutch text for updates off", shown.Body)
	}
}
