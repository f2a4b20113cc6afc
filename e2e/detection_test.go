package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLookAlikeIsUnverified runs the real agent with a genuine Zoom stand-in
// (at Zoom's install path, root-owned) and a look-alike (a binary named
// zoom elsewhere): both keep the app id zoom, only the genuine one is
// verified and judged by the policy; the look-alike is unverified.
func TestLookAlikeIsUnverified(t *testing.T) {
	s := newServer(t)
	startAgent(t, s, filepath.Join(t.TempDir(), "agent"))
	waitFor(t, 15*time.Second, "the agent online with policy 1", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].PolicyVersion == 1
	})
	genuine := startGenuineZoom(t)
	fake := startFakeApp(t, "zoom")
	var g, f apiApp
	waitFor(t, 15*time.Second, "both zoom processes reported", func() bool {
		devs := s.devices(t)
		var ok1, ok2 bool
		g, ok1 = appOf(devs, "zoom", genuine.pid())
		f, ok2 = appOf(devs, "zoom", fake.pid())
		return ok1 && ok2
	})
	if !g.Verified || g.Verdict != "restricted" || g.Version != "unknown" || !strings.Contains(g.Identity, "/opt/zoom/zoom") {
		t.Errorf("genuine zoom = %+v; want verified, restricted, version unknown (no package), identity naming the install path", g)
	}
	if f.Verified || f.Verdict != "unverified" || f.Identity == "" {
		t.Errorf("look-alike zoom = %+v; want verified false, verdict unverified, with the reason", f)
	}
	t.Logf("genuine: %s; look-alike: %s", g.Identity, f.Identity)
}

// TestHelperAttributedToApp: a process Zoom starts (its webview host) is
// part of the Zoom instance, not an instance of its own.
func TestHelperAttributedToApp(t *testing.T) {
	s := newServer(t)
	startAgent(t, s, filepath.Join(t.TempDir(), "agent"))
	dir := genuineZoomDir(t)
	installCopy(t, "sleep", filepath.Join(dir, "ZoomWebviewHost"))
	// zoom is a shell here, which starts the helper and waits for it.
	zoom := startCopy(t, "sh", filepath.Join(dir, "zoom"), "-c", filepath.Join(dir, "ZoomWebviewHost")+" 600; exit 0")
	var helperPID int
	waitFor(t, 10*time.Second, "the helper to start", func() bool {
		helperPID = childOf(zoom.pid(), "ZoomWebviewHost")
		return helperPID > 0
	})
	// Killing the shell would leave its child behind.
	t.Cleanup(func() { syscall.Kill(helperPID, syscall.SIGKILL) })
	waitFor(t, 10*time.Second, "zoom reported", func() bool {
		_, ok := appOf(s.devices(t), "zoom", zoom.pid())
		return ok
	})
	// Give the agent time to (wrongly) report the helper.
	time.Sleep(time.Second)
	for _, a := range s.devices(t)[0].Apps {
		if a.PID == helperPID {
			t.Errorf("the helper %d is reported as an instance of its own: %+v", helperPID, a)
		}
	}
}

// TestPackageVersion: an app owned by a Debian package is verified by the
// package that owns its executable and carries the package's version. The
// organisation's own catalog entry (--catalog-dir) claims sleep, owned by
// coreutils on every Debian.
func TestPackageVersion(t *testing.T) {
	want, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "coreutils").Output()
	if err != nil {
		t.Skipf("no dpkg database here: %v", err)
	}
	sleepPath, err := filepath.EvalSymlinks("/usr/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	catDir := t.TempDir()
	entry := `app_id: acme-sleep
name: ACME Sleep
vendor: ACME
category: meeting
identify:
  linux:
    executables: [sleep]
    packages:
      deb: [coreutils]
facts:
  e2ee: {value: none, source: "https://example.org/acme", checked: 2026-11-23}
  data_location: {value: eu, source: "https://example.org/acme", checked: 2026-11-23}
  self_hostable: {value: true, source: "https://example.org/acme", checked: 2026-11-23}
  open_source: {value: full, source: "https://example.org/acme", checked: 2026-11-23}
  certifications: {value: [], source: "https://example.org/acme", checked: 2026-11-23}
  jurisdiction: {value: none, source: "https://example.org/acme", checked: 2026-11-23}
  transfers: {value: none, source: "https://example.org/acme", checked: 2026-11-23}
  sso: {value: none, source: "https://example.org/acme", checked: 2026-11-23}
  mfa: {value: none, source: "https://example.org/acme", checked: 2026-11-23}
  telemetry: {value: none, source: "https://example.org/acme", checked: 2026-11-23}
  processor_agreement: {value: not_applicable, source: "https://example.org/acme", checked: 2026-11-23}
  business_model: {value: donations, source: "https://example.org/acme", checked: 2026-11-23}
  lifecycle: {value: supported, source: "https://example.org/acme", checked: 2026-11-23}
`
	if err := os.WriteFile(filepath.Join(catDir, "acme-sleep.yaml"), []byte(entry), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t)
	stateDir := filepath.Join(t.TempDir(), "agent")
	start(t, "vcguard-agent", stateDir+"-agent.log", append([]string{"run", "--catalog-dir", catDir}, srv.agentArgs(stateDir)...)...)
	cmd := exec.Command(sleepPath, "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var app apiApp
	waitFor(t, 15*time.Second, "sleep reported as acme-sleep", func() bool {
		var ok bool
		app, ok = appOf(srv.devices(t), "acme-sleep", cmd.Process.Pid)
		return ok
	})
	if !app.Verified || app.Version != string(want) || !strings.Contains(app.Identity, "deb:coreutils") {
		t.Errorf("acme-sleep = %+v; want verified by deb:coreutils with version %q", app, want)
	}
}

// childOf returns the PID of a child of parent whose comm is name, or 0.
func childOf(parent int, name string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range dirs {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(data)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 || s[open+1:end] != name {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == parent {
			pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
			return pid
		}
	}
	return 0
}
