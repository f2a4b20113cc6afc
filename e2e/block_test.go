package e2e

import (
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestBlockClosesForbiddenApp: under a policy that blocks Zoom, the real
// agent closes a genuine Zoom (and the helper it started) after the grace
// period and records it; a sibling process outside the app's tree, and an
// approved app, are left alone.
func TestBlockClosesForbiddenApp(t *testing.T) {
	s := newServer(t)
	startAgent(t, s, filepath.Join(t.TempDir(), "agent"))
	doc := []byte("name: Block Zoom\napps:\n  zoom: {status: forbidden, alternative: jitsi-meet}\n  jitsi-meet: {status: approved}\nactions: {forbidden: block, block_grace: 1s}\n")
	if code := s.api(t, http.MethodPost, "/api/v1/policies?comment=e2e", doc, nil); code != http.StatusCreated {
		t.Fatalf("publish: %d", code)
	}
	waitFor(t, 15*time.Second, "the agent on policy 2", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].PolicyVersion == 2
	})
	dir := genuineZoomDir(t)
	installCopy(t, "sleep", filepath.Join(dir, "ZoomWebviewHost"))
	zoom := startCopy(t, "sh", filepath.Join(dir, "zoom"), "-c", filepath.Join(dir, "ZoomWebviewHost")+" 600; exit 0")
	sibling := startCopy(t, "sleep", filepath.Join(t.TempDir(), "bystander"), "600")
	jitsi := startCopy(t, "sleep", filepath.Join(t.TempDir(), "jitsi-meet"), "600") // unverified, warn only
	var helper int
	waitFor(t, 5*time.Second, "zoom's helper", func() bool { helper = childOf(zoom.pid(), "ZoomWebviewHost"); return helper > 0 })
	started := time.Now()

	exited := make(chan error, 1)
	go func() { exited <- zoom.cmd.Wait() }()
	select {
	case <-exited:
		t.Logf("zoom closed %s after it started (grace 1 s)", time.Since(started).Round(10*time.Millisecond))
		if time.Since(started) < 900*time.Millisecond {
			t.Errorf("zoom was closed before its grace period ended")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the forbidden zoom was not closed")
	}
	waitFor(t, 5*time.Second, "the helper closed with it", func() bool { return syscall.Kill(helper, 0) != nil })
	for name, p := range map[string]*fakeApp{"bystander": sibling, "jitsi look-alike": jitsi} {
		if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil {
			t.Errorf("the %s (pid %d) was touched: %v", name, p.pid(), err)
		}
	}
	var events []struct {
		Type   string `json:"type"`
		PID    int    `json:"pid"`
		AppID  string `json:"app_id"`
		Detail struct {
			Enforcement struct {
				Killed  []int  `json:"killed"`
				GraceMs string `json:"grace_ms"`
				Error   string `json:"error"`
			} `json:"enforcement"`
		} `json:"detail"`
	}
	devID := s.devices(t)[0].ID
	waitFor(t, 5*time.Second, "the app_blocked event", func() bool {
		s.apiEvents(t, "/api/v1/events?type=app_blocked&device="+devID, &events)
		return len(events) > 0
	})
	e := events[0]
	if e.AppID != "zoom" || e.PID != zoom.pid() || len(e.Detail.Enforcement.Killed) != 2 || e.Detail.Enforcement.Killed[0] != zoom.pid() ||
		e.Detail.Enforcement.GraceMs != "1000" || e.Detail.Enforcement.Error != "" {
		t.Errorf("app_blocked event = %+v; want zoom %d and its helper %d killed after 1000 ms", e, zoom.pid(), helper)
	}
}
