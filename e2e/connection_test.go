package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	got, raw, home := runSetupCase(t, setupCase{
		policy:  "name: Own Jitsi\napps:\n  jitsi-meet:\n    status: approved\n    allowed_servers: [meet.example.org]\n",
		fixture: "jitsi-meet/leveldb-public",
		rel:     ".config/Jitsi Meet/Local Storage/leveldb",
		exe:     "jitsi-meet",
		uid:     61234,
	})
	if got.AppID != "jitsi-meet" || got.Error != "" || !slices.Equal(got.Servers, []string{"meet.jit.si"}) || got.Session != "uid 61234" {
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

// TestRocketChatOnTheCommunityServerIsAWrongServer: Rocket.Chat Desktop
// whose config.json (written with the storage library the app uses,
// agent/appconfig/testdata/rocket-chat) lists the organisation's
// chat.example.org and the public open.rocket.chat, and a Jitsi server its
// calls used, under a policy allowing the organisation's servers only:
// one wrong_server finding, for open.rocket.chat.
func TestRocketChatOnTheCommunityServerIsAWrongServer(t *testing.T) {
	got, raw, home := runSetupCase(t, setupCase{
		policy:  "name: Own Rocket.Chat\napps:\n  rocket-chat:\n    status: approved\n    allowed_servers: [chat.example.org, meet.example.org]\n",
		fixture: "rocket-chat/config-conf-10.2.0.json",
		rel:     ".config/Rocket.Chat/config.json",
		exe:     "rocketchat-desktop",
		uid:     61235,
	})
	want := []string{"chat.example.org", "meet.example.org", "open.rocket.chat"}
	if got.AppID != "rocket-chat" || got.Error != "" || !slices.Equal(got.Servers, want) || got.Source != "Rocket.Chat config.json" {
		t.Errorf("app_connection = %+v; want rocket-chat with servers %v from its config.json", got, want)
	}
	if len(got.Findings) != 1 || !strings.Contains(got.Findings[0].Kind, "WRONG_SERVER") || got.Findings[0].Detail != "open.rocket.chat" {
		t.Errorf("findings = %+v; want one wrong_server for open.rocket.chat", got.Findings)
	}
	for _, secret := range []string{"PrivateTeamRoom", "https://", "00000000-0000-4000-8000-000000000001", home} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the event carries %q: %s", secret, raw)
		}
	}
}

// setupCase is one app whose recorded configuration is laid out in an
// employee's home, run under a policy.
type setupCase struct {
	policy  string
	fixture string // file or directory under agent/appconfig/testdata
	rel     string // where the app keeps it, relative to the home
	exe     string // the app's process name
	uid     int
}

type connectionEvent struct {
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

// runSetupCase starts a server and an agent, publishes the policy, lays
// the fixture out in a home owned by the uid, runs a stand-in for the app
// as that uid and returns the app_connection event the server stored for
// it, its JSON, and the home.
func runSetupCase(t *testing.T, c setupCase) (connectionEvent, json.RawMessage, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running the app as another user needs root (CI runs as root)")
	}
	s := newServer(t)
	stateDir := filepath.Join(t.TempDir(), "agent")
	startAgent(t, s, stateDir)
	if code := s.api(t, http.MethodPost, "/api/v1/policies?comment=e2e", []byte(c.policy), nil); code != http.StatusCreated {
		t.Fatalf("publish: %d", code)
	}
	waitFor(t, 15*time.Second, "the agent on policy 2", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].PolicyVersion == 2
	})

	// The employee's home, theirs alone, with the app's configuration
	// where the app keeps it on Linux.
	home, err := os.MkdirTemp("", "vcguard-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	src := filepath.Join("..", "agent", "appconfig", "testdata", filepath.FromSlash(c.fixture))
	dst := filepath.Join(home, filepath.FromSlash(c.rel))
	if err := copyFixture(src, dst); err != nil {
		t.Fatal(err)
	}
	if err := filepath.Walk(home, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, c.uid, c.uid)
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(home, c.exe)
	installCopy(t, "sleep", exe)
	cmd := exec.Command(exe, "600")
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.uid)}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	app := &fakeApp{cmd: cmd}
	t.Cleanup(app.stop)

	devID := s.devices(t)[0].ID
	var got connectionEvent
	var raw json.RawMessage
	waitFor(t, 20*time.Second, "an app_connection event for the "+c.exe+" process", func() bool {
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
			var ev connectionEvent
			if json.Unmarshal(e.Detail.AppConnection, &ev) == nil && ev.PID == app.pid() {
				got, raw = ev, e.Detail.AppConnection
				return true
			}
		}
		return false
	})
	t.Logf("app_connection: %s", raw)
	return got, raw, home
}

// copyFixture copies a fixture file, or the files of a fixture directory,
// to dst, creating the directories above it.
func copyFixture(src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	copyOne := func(from, to string) error {
		b, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o600)
	}
	if !st.IsDir() {
		return copyOne(src, dst)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := copyOne(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
