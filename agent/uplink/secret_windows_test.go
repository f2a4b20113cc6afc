package uplink

import (
	"testing"

	"github.com/vcguard/vcguard/agent/fsperm"
	"github.com/vcguard/vcguard/internal/wine"
)

// checkPrivateFile: the secret is SYSTEM's and Administrators' alone (the
// state directory's protected access list, inherited).
func checkPrivateFile(t *testing.T, path string) {
	t.Helper()
	if wine.Running() {
		// agent/fsperm's TestWineKeepsNoSecurityDescriptor proves it.
		t.Log("Wine: the access list is not checked; Wine 8 stores no security descriptors (Everyone read from the umask)")
		return
	}
	if err := fsperm.CheckPrivate(path); err != nil {
		t.Errorf("the stored secret is not private: %v", err)
	}
}
