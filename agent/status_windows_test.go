package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/agent/fsperm"
	"golang.org/x/sys/windows"
)

// The status file's directory is created protected (users may read), and
// an existing one that everyone may write is refused, not changed.
func TestWriteStatusFileWindows(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "status", "status.json")
	if err := writeStatusFile(path, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Dir(path), path} {
		if err := fsperm.CheckNotWritableByOthers(p); err != nil {
			t.Error(err)
		}
	}

	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;" + u.User.Sid.String() + ")(A;OICI;0x1301bf;;;WD)")
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, _ := sd.DACL()
	if err := windows.SetNamedSecurityInfo(open, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
	err = writeStatusFile(filepath.Join(open, "status.json"), []byte("{}"))
	if err == nil || !strings.Contains(err.Error(), "writable by others: S-1-1-0") {
		t.Errorf("status file in a directory everyone may write: %v; want it refused", err)
	}
}
