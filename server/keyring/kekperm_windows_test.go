package keyring_test

import (
	"os"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/server/keyring"
)

// On Windows Go reports mode 0666 for every writable file, whatever its
// ACL says; the KEK file must still load (it once failed with "mode
// -rw-rw-rw- lets others read it; chmod 600 it", refusing every --kek-file).
func TestLoadKEKWindowsMode(t *testing.T) {
	t.Parallel()
	path := kekFile(t, strings.Repeat("k", 44))
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.LoadKEK(path); err != nil {
		t.Errorf("a KEK file of mode %v: %v", info.Mode().Perm(), err)
	}
}
