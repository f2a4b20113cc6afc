package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestJitsiOnThePublicServerIsAWrongServer runs the real agent and server:
// an employee (a uid the account database does not list, as a directory
// service user is) runs Jitsi Meet whose own settings (Chromium local
// storage, recorded in agent/appconfig/testdata) point to the public
// meet.jit.si, under a policy that allows only the organisation's
// meet.example.org: the agent reads the settings in that employee's home
// and the server stores an app_connection event with a wrong_server
// finding for meet.jit.si, with host names only.
func TestJitsiOnThePublicServerIsAWrongServer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running the app as another user needs root (CI runs as root)")
	}
	s := newServer(t)
	stateDir := filepath.Join(t.TempDir(), "agent")
	startAgent(t, s, stateDir)
	doc := []byte("name: Own Jitsi\napps:\n  jitsi-meet:\n    status: approved\n    allowed_servers: [meet.example.org]\n")
	if code := s.api(t, http.MethodPost, "/api/v1/policies?comment=e2e", doc, nil); code != http.StatusCreated {
		t.Fatalf("publish: %d", code)
	}
	waitFor(t, 15*time.Second, "the agent on policy 2", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].PolicyVersion == 2
	})

	// The employee's home, theirs alone; their Jitsi Meet settings where
	// the app keeps them on Linux.
	const uid = 61234
	home, err := os.MkdirTemp("", "vcguard-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	storage := filepath.Join(home, ".config", "Jitsi Meet", "Local Storage", "leveldb")
	if err := os.MkdirAll(storage, 0o700); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join("..", "agent", "appconfig", "testdata", "jitsi-meet", "leveldb-public")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(storage, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := filepath.Walk(home, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(home, "jitsi-meet")
	installCopy(t, "sleep", exe)
	cmd := exec.Command(exe, "600")
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	app := &fakeApp{cmd: cmd}
	t.Cleanup(app.stop)

	devID := s.devices(t)[0].ID
	type connection struct {
		AppID    string   `json:"app_id"`
		PID      int      `json:"pid"`
		Session  string   `json:"session"`
		Servers  []string `json:"servers"`
		Source   string   `json:"source"`
		Error    string   `json:"error"`
		Findings []struct {
			Kind         string `json:"kind"`
			Detail       string `json:"detail"`
			PolicyAction string `json:"policy_action"`
		} `json:"findings"`
	}
	var got connection
	var raw json.RawMessage
	waitFor(t, 20*time.Second, "an app_connection event for the Jitsi Meet process", func() bool {
		var page struct {
			Events []struct {
				Detail struct {
					AppConnection json.RawMessage `json:"app_connection"`
				} `json:"detail"`
			} `json:"events"`
		}
		if code := s.api(t, http.MethodGet, "/api/v1/events?limit=100&type=app_connection&device="+devID, nil, &page); code != http.StatusOK {
			t.Fatalf("events: %d", code)
		}
		for _, e := range page.Events {
			var c connection
			if json.Unmarshal(e.Detail.AppConnection, &c) == nil && c.PID == app.pid() {
				got, raw = c, e.Detail.AppConnection
				return true
			}
		}
		return false
	})
	t.Logf("app_connection: %s", raw)
	if got.AppID != "jitsi-meet" || got.Error != "" || len(got.Servers) != 1 || got.Servers[0] != "meet.jit.si" || got.Session != "uid 61234" {
		t.Errorf("app_connection = %+v; want jitsi-meet set up for meet.jit.si, read from uid 61234's home", got)
	}
	if len(got.Findings) != 1 || !strings.Contains(got.Findings[0].Kind, "WRONG_SERVER") || got.Findings[0].Detail != "meet.jit.si" || !strings.Contains(got.Findings[0].PolicyAction, "WARN") {
		t.Errorf("findings = %+v; want one wrong_server for meet.jit.si, warn", got.Findings)
	}
	// Host names only: no room name, no URL, no path of the home.
	for _, secret := range []string{"TeamStandup", "https://", home} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the event carries %q: %s", secret, raw)
		}
	}
}
