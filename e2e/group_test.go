package e2e

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// An admin moving a device to another group reaches its agent at once,
// on the open stream: the group's overrides apply to what runs without
// waiting for a certificate renewal or a restart, and moving it back
// undoes them. After a restart the agent keeps the group it was told.
func TestGroupChangeReachesAgent(t *testing.T) {
	s := newServer(t)
	stateDir := filepath.Join(t.TempDir(), "agent")
	agent := startAgent(t, s, stateDir)
	zoom := startGenuineZoom(t)
	doc := []byte("name: Groups\napps:\n  zoom:\n    status: approved\ngroups:\n  radiology:\n    apps:\n      zoom:\n        status: forbidden\n")
	if code := s.api(t, http.MethodPost, "/api/v1/policies?comment=e2e", doc, nil); code != http.StatusCreated {
		t.Fatalf("POST /api/v1/policies: status %d", code)
	}
	verdict := func() string {
		_, _, v := appState(s.devices(t), "zoom", zoom.pid())
		return v
	}
	waitFor(t, 15*time.Second, "zoom approved under policy 2, outside any group", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].PolicyVersion == 2 && verdict() == "approved"
	})
	id := s.devices(t)[0].ID
	move := func(group string) {
		t.Helper()
		if code := s.api(t, http.MethodPost, "/api/v1/devices/"+id+"/group", []byte(`{"group": "`+group+`"}`), nil); code != http.StatusOK {
			t.Fatalf("move the device to group %q: status %d", group, code)
		}
	}
	start := time.Now()
	move("radiology")
	waitFor(t, 10*time.Second, "zoom forbidden once the device is in radiology", func() bool { return verdict() == "forbidden" })
	t.Logf("group change → judged again and reported back: %s (includes polling)", time.Since(start).Round(time.Millisecond))

	// The agent keeps the group across a restart.
	agent.stop(t)
	startAgent(t, s, stateDir)
	waitFor(t, 20*time.Second, "zoom still forbidden after the agent restarted", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].Online && verdict() == "forbidden"
	})

	move("")
	waitFor(t, 10*time.Second, "zoom approved again outside the group", func() bool { return verdict() == "approved" })
}
