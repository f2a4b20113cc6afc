package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/agent/browserpolicy"
	"github.com/vcguard/vcguard/internal/machinelock"
)

// `vcguard-agent remove-browser-policies` (run by package removal and by
// uninstall) removes what the agent wrote into the real system places,
// and says so; with nothing written it says that.
func TestRemoveBrowserPolicies(t *testing.T) {
	state := t.TempDir()
	var out bytes.Buffer
	if err := removeBrowserPolicies(state, &out); err != nil || !strings.Contains(out.String(), "none written") {
		t.Fatalf("nothing written: %v, %q", err, out.String())
	}
	if os.Geteuid() != 0 {
		t.Skip("writing the browsers' policies in /etc needs root (CI runs as root)")
	}
	machinelock.Lock(t, machinelock.BrowserPolicies)
	for _, tg := range browserpolicy.DefaultTargets() {
		if _, err := os.Lstat(tg.Path); err == nil {
			t.Skipf("%s exists: this test does not touch a policy it did not write", tg.Path)
		}
	}
	w, err := browserpolicy.New(browserpolicy.Config{StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Apply(nil) })
	rep, err := w.Apply(&browserpolicy.Spec{AllowedOrigins: []string{"https://meet.example.org"}})
	if err != nil || len(rep.Written) == 0 {
		t.Fatalf("write: %+v, %v", rep, err)
	}
	out.Reset()
	if err := removeBrowserPolicies(state, &out); err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Written {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is still there", p)
		}
		if !strings.Contains(out.String(), "removed "+p) {
			t.Errorf("the output does not name %s:\n%s", p, out.String())
		}
	}
}
