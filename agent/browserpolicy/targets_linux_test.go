package browserpolicy

import (
	"strings"
	"testing"
)

func TestDefaultTargetsLinux(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"chrome":   "/etc/opt/chrome/policies/managed/vcguard.json",
		"chromium": "/etc/chromium/policies/managed/vcguard.json",
		"edge":     "/etc/opt/edge/policies/managed/vcguard.json",
		"brave":    "/etc/brave/policies/managed/vcguard.json",
		"firefox":  "/etc/firefox/policies/policies.json",
	}
	got := DefaultTargets()
	if len(got) != len(want) {
		t.Fatalf("%d targets, want %d", len(got), len(want))
	}
	for _, tg := range got {
		if want[tg.Name] != tg.Path {
			t.Errorf("%s: %s, want %s", tg.Name, tg.Path, want[tg.Name])
		}
		if (tg.Format == FirefoxFile) != (tg.Name == "firefox") || !strings.HasPrefix(string(tg.Format), map[bool]string{true: "firefox", false: "chromium"}[tg.Name == "firefox"]) {
			t.Errorf("%s: format %s", tg.Name, tg.Format)
		}
		if err := tg.validate(); err != nil {
			t.Error(err)
		}
	}
	// nil Targets means these.
	w, err := New(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.targets) != len(want) {
		t.Errorf("New with nil Targets has %d targets", len(w.targets))
	}
}
