package fsperm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/internal/wine"
	"golang.org/x/sys/windows"
)

// wineNoSD is what the Windows lane proved about Wine 8 (wine-8.0 Debian,
// prefix on ext4 with user xattrs): it keeps no security descriptor for a
// file (no user.wine.sd attribute is written; that is wine-staging only).
// SetNamedSecurityInfo succeeds, ignores the owner and turns the DACL into
// Unix mode bits (an Everyone write entry becomes o+w, an existing
// directory protected without Everyone keeps o+rx); GetNamedSecurityInfo
// makes a descriptor up from the mode: owner the process's user, SYSTEM and
// the user full control, Everyone what the other bits allow, never a
// protected flag, never Administrators or Users, and a file created in a
// protected directory gets the umask's mode (0644: Everyone read), not the
// directory's inherited entries.
const wineNoSD = "Wine: Wine 8 stores no security descriptors; it makes one up from the Unix mode (no protected flag, no Administrators, Users or inheritance; Everyone read from the umask)"

func setDACL(t *testing.T, path, sddl string) {
	t.Helper()
	sd, err := windows.SecurityDescriptorFromString(sddl)
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

func readSDDL(t *testing.T, path string) string {
	t.Helper()
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	return sd.String()
}

func mustSelf(t *testing.T) string {
	t.Helper()
	self, err := selfSID()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

// A file whose DACL lets Everyone write is refused, naming the file and
// Everyone's SID. Wine keeps this one: the entry becomes o+w and comes back.
func TestCheckRefusesEveryoneWrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "open.yaml")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckNotWritableByOthers(path); err != nil {
		t.Fatalf("a file of this user's temporary directory: %v", err)
	}
	setDACL(t, path, "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;"+mustSelf(t)+")(A;;0x1301bf;;;WD)")
	err := CheckNotWritableByOthers(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "writable by others") || !strings.Contains(err.Error(), sidEveryone) {
		t.Fatalf("CheckNotWritableByOthers = %v; want it refused, naming %s and %s (DACL %s)", err, path, sidEveryone, readSDDL(t, path))
	}
}

// Users who may only read make a file not private, and still not writable.
func TestCheckPrivateRefusesUsersRead(t *testing.T) {
	t.Parallel()
	if wine.Running() {
		t.Skip(wineNoSD)
	}
	path := filepath.Join(t.TempDir(), "status.json")
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	setDACL(t, path, "D:P(A;;FA;;;SY)(A;;FA;;;"+mustSelf(t)+")(A;;0x1200a9;;;BU)")
	if err := CheckNotWritableByOthers(path); err != nil {
		t.Errorf("CheckNotWritableByOthers = %v; users may only read", err)
	}
	if err := CheckPrivate(path); err == nil || !strings.Contains(err.Error(), sidUsers) {
		t.Errorf("CheckPrivate = %v; want it refused naming %s", err, sidUsers)
	}
}

// Protect makes a new directory (and one that exists, open to everyone)
// the agent's alone: nothing in it may be written, or read, by others.
func TestProtect(t *testing.T) {
	t.Parallel()
	for _, exists := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "vcguard")
		if exists {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			// What %ProgramData% gives a subfolder: users may add files.
			setDACL(t, dir, "D:(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;"+mustSelf(t)+")(A;OICI;0x1200a9;;;BU)(A;CI;0x116;;;BU)")
			if err := CheckNotWritableByOthers(dir); err == nil && !wine.Running() {
				t.Fatalf("%s: users may add files, yet it passes (DACL %s)", dir, readSDDL(t, dir))
			}
		}
		if err := Protect(dir, false); err != nil {
			t.Fatal(err)
		}
		key := filepath.Join(dir, "client.key")
		if err := os.WriteFile(key, []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{dir, key} {
			if err := CheckNotWritableByOthers(p); err != nil {
				t.Errorf("after Protect (existed before: %v): %v", exists, err)
			}
		}
		if err := Protect(dir, false); err != nil {
			t.Errorf("Protect again: %v", err)
		}
	}
	t.Run("private and protected", func(t *testing.T) {
		if wine.Running() {
			t.Skip(wineNoSD)
		}
		for _, usersMayRead := range []bool{false, true} {
			dir := filepath.Join(t.TempDir(), "vcguard")
			if err := Protect(dir, usersMayRead); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "f")
			if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
			if err != nil {
				t.Fatal(err)
			}
			if ctl, _, err := sd.Control(); err != nil || ctl&windows.SE_DACL_PROTECTED == 0 {
				t.Errorf("%s: DACL not protected from inheritance: %s", dir, sd)
			}
			for _, p := range []string{dir, file} {
				err := CheckPrivate(p)
				if usersMayRead && (err == nil || !strings.Contains(err.Error(), sidUsers)) {
					t.Errorf("users may read, yet CheckPrivate(%s) = %v (DACL %s)", p, err, readSDDL(t, p))
				}
				if !usersMayRead && err != nil {
					t.Errorf("CheckPrivate: %v (DACL %s)", err, readSDDL(t, p))
				}
			}
		}
	})
}

// MkdirAll creates with the protected DACL but leaves an existing
// directory alone: the status directory may be shared.
func TestMkdirAllLeavesExisting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	before := readSDDL(t, dir)
	if err := MkdirAll(dir, true); err != nil {
		t.Fatal(err)
	}
	if after := readSDDL(t, dir); after != before {
		t.Errorf("MkdirAll changed an existing directory's security: %s, was %s", after, before)
	}
	sub := filepath.Join(dir, "status", "deeper")
	if err := MkdirAll(sub, true); err != nil {
		t.Fatal(err)
	}
	if err := CheckNotWritableByOthers(sub); err != nil {
		t.Error(err)
	}
}

// Protect refuses what another user left in the directory.
func TestProtectRefusesWhatOthersMayWrite(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "vcguard")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(dir, "identity.json")
	if err := os.WriteFile(planted, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	setDACL(t, planted, "D:P(A;;FA;;;SY)(A;;FA;;;"+mustSelf(t)+")(A;;FA;;;WD)")
	err := Protect(dir, false)
	if err == nil || !strings.Contains(err.Error(), planted) || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("Protect = %v; want it refused naming %s", err, planted)
	}
}

// What the Wine skips rely on, proven where they are taken: Wine accepts a
// new owner and a protected DACL and returns neither. Should a Wine keep
// security descriptors one day, this fails and the skips can go.
func TestWineKeepsNoSecurityDescriptor(t *testing.T) {
	if !wine.Running() {
		t.Skip("proves the Wine limitation; nothing to prove elsewhere")
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	sd, err := windows.SecurityDescriptorFromString("O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x1200a9;;;BU)")
	if err != nil {
		t.Fatal(err)
	}
	owner, _, _ := sd.Owner()
	dacl, _, _ := sd.DACL()
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION,
		owner, nil, dacl, nil); err != nil {
		t.Fatalf("SetNamedSecurityInfo: %v", err)
	}
	got, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	gotOwner, _, _ := got.Owner()
	ctl, _, _ := got.Control()
	sddl := got.String()
	t.Logf("set O:BA D:P(SY)(BA)(BU); read back %s", sddl)
	if gotOwner.String() == sidAdministrators || ctl&windows.SE_DACL_PROTECTED != 0 || strings.Contains(sddl, ";BA)") || strings.Contains(sddl, ";BU)") {
		t.Errorf("this Wine kept the security descriptor (%s): drop the %q skips", sddl, wineNoSD)
	}
}
