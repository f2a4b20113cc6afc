package proctable

import (
	"syscall"
	"testing"

	"golang.org/x/sys/windows"
)

const sigKill = syscall.SIGKILL

// truncName: Windows lists the image file name whole.
func truncName(s string) string { return s }

func checkOwnerSelf(t *testing.T, o Owner) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	if o.SID != tu.User.Sid.String() || o.UID != -1 {
		t.Errorf("Owner = %+v, want SID %s", o, tu.User.Sid)
	}
}
