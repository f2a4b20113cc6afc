package uplink

import (
	"testing"

	"github.com/vcguard/vcguard/agent/fsperm"
)

// checkPrivateFile: the secret is SYSTEM's and Administrators' alone (the
// state directory's protected access list, inherited).
func checkPrivateFile(t *testing.T, path string) {
	t.Helper()
	if err := fsperm.CheckPrivate(path); err != nil {
		t.Errorf("the stored secret is not private: %v", err)
	}
}
