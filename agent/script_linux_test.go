package agent

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/agent/appid"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/policies"
)

// A start script of the app's own package that lives on (a wrapper, not
// an exec) is identified by the script, not by the shell that runs it:
// Debian's /usr/bin/chromium, owned by the chromium package, under dash.
// A shell running a script of no package of the app stays unverified.
func TestIdentifyStartScript(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		if os.Getenv("VCGUARD_REQUIRE_CHROMIUM") != "" {
			t.Fatalf("Debian's chromium is required (VCGUARD_REQUIRE_CHROMIUM): %v", err)
		}
		t.Skipf("no Debian chromium: %v", err)
	}
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	app, ok := cat.App("chromium")
	if !ok {
		t.Fatal("no chromium in the catalog")
	}
	dir := t.TempDir()
	fake := dir + "/chromium"
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nsleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	shell := procwatch.Process{PID: 4242, Name: "dash", ShortName: "chromium", Exe: "/usr/bin/dash"}
	for _, tc := range []struct {
		script   string
		verified bool
		detail   string
	}{
		{"/usr/bin/chromium", true, "start script /usr/bin/chromium"},
		{fake, false, ""},
		{"", false, ""}, // no script read: the shell itself is judged
	} {
		id := AppIdentifier{GOOS: "linux", Inspector: appid.NewInspector(""), Script: func(int32) string { return tc.script }}
		got := id.Identify(context.Background(), shell, app)
		if got.Verified != tc.verified || !strings.Contains(got.Detail, tc.detail) {
			t.Errorf("script %q: identity %+v, want verified %v with %q", tc.script, got, tc.verified, tc.detail)
		}
	}
}
