package outbox

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FailRewrites makes every atomic rewrite of the file called name fail, as
// a full disk or a locked file would, until the returned function is called.
func FailRewrites(o *Outbox, name string) (restore func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	real := o.writeFile
	o.writeFile = func(path string, data []byte, perm os.FileMode) error {
		if filepath.Base(path) == name {
			return fmt.Errorf("write %s: injected failure", path)
		}
		return real(path, data, perm)
	}
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.writeFile = real
	}
}

// FailDropMarks makes the next mark of a dropped event fail, as a full disk
// would: the drop file is swapped for a read-only descriptor.
func FailDropMarks(t *testing.T, o *Outbox) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closeDrops()
	f, err := os.OpenFile(filepath.Join(o.dir, dropFile), os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	o.dropF = f
}
