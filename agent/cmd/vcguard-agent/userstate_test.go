package main

import (
	"testing"

	"github.com/vcguard/vcguard/agent/browserpolicy"
	"github.com/vcguard/vcguard/agent/statedir"
)

// The state directory's list names the browser policy manifest as the
// package that writes it does.
func TestBrowserPolicyManifestIsAStateDirEntry(t *testing.T) {
	if statedir.BrowserPolicies.Name != browserpolicy.ManifestName {
		t.Errorf("statedir says %q, agent/browserpolicy writes %q", statedir.BrowserPolicies.Name, browserpolicy.ManifestName)
	}
}
