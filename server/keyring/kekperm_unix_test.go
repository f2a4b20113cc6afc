//go:build unix

package keyring_test

import (
	"os"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/server/keyring"
)

// On Unix a KEK file that group or others may read is refused, and the
// error says how to fix it.
func TestLoadKEKReadableByOthers(t *testing.T) {
	t.Parallel()
	path := kekFile(t, strings.Repeat("k", 44))
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.LoadKEK(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable KEK: %v", err)
	}
}
