package devices

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// TestCheckWindows runs one real check: it must read HKEY_USERS without
// error (an empty answer is fine).
func TestCheckWindows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	us, err := New(Config{}).Check(ctx)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	for _, u := range us {
		t.Logf("%+v", u)
		if u.Source != SourceConsentStore || u.PID == 0 && !strings.Contains(u.Process, "_") {
			t.Errorf("bad use %+v", u)
		}
	}
}

// TestProcessesSelf finds the test binary with its path and owner.
func TestProcessesSelf(t *testing.T) {
	c := newOSChecker(Config{}).(*windowsChecker)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	procs, err := c.processes(context.Background(), func(name string) bool { return strings.EqualFold(name, exeBase(exe)) })
	if err != nil {
		t.Fatal(err)
	}
	tok := windows.GetCurrentProcessToken()
	tu, err := tok.GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if p.PID == int32(os.Getpid()) {
			if !samePath(p.Path, exe) || p.SID != tu.User.Sid.String() || p.PackageFamily != "" {
				t.Errorf("self = %+v; want path %q, SID %s, no package", p, exe, tu.User.Sid)
			}
			return
		}
	}
	t.Errorf("own process %d not listed among %+v", os.Getpid(), procs)
}
