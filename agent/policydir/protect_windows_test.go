package policydir

import (
	"testing"

	"golang.org/x/sys/windows"
)

// canCheckOwner: the test's files belong to the account the test runs as,
// which the check trusts as it trusts the agent's own account (SYSTEM).
func canCheckOwner() bool { return true }

// writableByEveryone is what the refusal of makeWritableByEveryone's file
// says: who may write it, by SID.
const writableByEveryone = "writable by others: S-1-1-0"

// makeWritableByEveryone gives path a DACL that lets Everyone write it
// (FILE_GENERIC_READ|WRITE|EXECUTE). Wine keeps this: the entry becomes the
// Unix mode's o+w, and comes back as Everyone 0x1301ff.
func makeWritableByEveryone(t *testing.T, path string) {
	t.Helper()
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;" + u.User.Sid.String() + ")(A;;0x1301bf;;;WD)")
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
}
