package devices

// The consent store read from a real registry: these tests write
// CapabilityAccessManager keys into the registry (Wine's in the Windows
// lane) and run the code the Watcher runs, readConsentStore over
// HKEY_USERS and windowsChecker.check, against them. No fake registry.
//
// Where the test user's hive comes from. A real user hive is mounted under
// HKEY_USERS\<SID> by the profile service (RegLoadKey). Two ways are tried,
// each a subtest, both reading the same keys through the real HKEY_USERS:
//
//   - "CreatedUnderHKU": RegCreateKeyEx(HKEY_USERS, "<SID>"). Windows
//     refuses it (RegCreateKey[Ex] remarks: "An application cannot create a key that
//     is a direct child of HKEY_USERS or HKEY_LOCAL_MACHINE"), so the
//     subtest skips there. Wine 8 allows it: its HKEY_USERS is an ordinary
//     key of wineserver's one registry tree; the key is then listed by
//     RegEnumKeyEx(HKEY_USERS) beside .Default and the prefix's user
//     S-1-5-21-0-0-0-1000 (`wine reg query HKU` shows it while the test
//     runs), so under Wine (internal/wine.Running) a refusal fails the test.
//   - "LoadedHive": the keys are written to a scratch key under
//     HKEY_CURRENT_USER, saved with RegSaveKey and mounted with
//     RegLoadKey(HKEY_USERS, "<SID>", file), as a logged-on user's hive is;
//     unmounted with RegUnLoadKey. Needs SeBackupPrivilege and
//     SeRestorePrivilege (an elevated administrator); skips without them.
//     Wine 8 does all three (its hive files are its own text format, not
//     regf, which does not matter here: Wine writes and reads them).
//
// The running-app test writes one uniquely named key into the current
// user's own store (HKEY_USERS\<own SID>), because check only matches an
// entry to processes of the entry's user; it never touches a key it did
// not create.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/vcguard/vcguard/internal/wine"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// consentApp is one app key to write below ConsentStore\<capKey>.
type consentApp struct {
	capKey string // "webcam" or "microphone"
	key    string // package family name, or NonPackaged\<path with # for \>
	// start and stop are written as REG_QWORD LastUsedTimeStart and
	// LastUsedTimeStop unless unused is set (a granted but never used app
	// has only the Value "Allow").
	start, stop uint64
	unused      bool
}

func filetime(t time.Time) uint64 { return uint64(t.UnixNano()/100) + filetimeEpochDelta }

var (
	ftStart = filetime(time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC))
	ftStop  = filetime(time.Date(2025, 3, 14, 10, 15, 0, 0, time.UTC))
)

// userStore is what the test user's hive holds.
var userStore = []consentApp{
	// In use: Zoom (a desktop app) has the camera, Teams (packaged) the microphone.
	{capKey: "webcam", key: `NonPackaged\C:#Program Files#Zoom#bin#Zoom.exe`, start: ftStart},
	{capKey: "microphone", key: "MSTeams_8wekyb3d8bbwe", start: ftStart},
	// Stopped.
	{capKey: "webcam", key: `NonPackaged\C:#Program Files#obs-studio#bin#64bit#obs64.exe`, start: ftStart, stop: ftStop},
	{capKey: "microphone", key: `NonPackaged\C:#Program Files#Zoom#bin#Zoom.exe`, start: ftStart, stop: ftStop},
	// Allowed, never used.
	{capKey: "webcam", key: "Microsoft.WindowsCamera_8wekyb3d8bbwe", unused: true},
}

// classesStore is written into the <SID>_Classes hive, which is not a
// user hive and must be skipped.
var classesStore = []consentApp{
	{capKey: "webcam", key: `NonPackaged\C:#Users#Public#classes.exe`, start: ftStart},
	{capKey: "microphone", key: "Classes.App_8wekyb3d8bbwe", start: ftStart},
}

// writeConsentStore writes apps below hive (a user hive's root) as Windows
// lays them out, with the "Value" = "Allow" strings Windows keeps beside
// the times.
func writeConsentStore(t *testing.T, hive registry.Key, apps []consentApp) {
	t.Helper()
	for _, a := range apps {
		capPath := consentStoreKey + `\` + a.capKey
		for _, p := range []string{capPath, capPath + `\` + nonPackaged} {
			k, _, err := registry.CreateKey(hive, p, registry.SET_VALUE)
			if err != nil {
				t.Fatalf("create %s: %v", p, err)
			}
			err = k.SetStringValue("Value", "Allow")
			k.Close()
			if err != nil {
				t.Fatalf("set %s\\Value: %v", p, err)
			}
		}
		p := capPath + `\` + a.key
		k, _, err := registry.CreateKey(hive, p, registry.SET_VALUE)
		if err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
		err = k.SetStringValue("Value", "Allow")
		if err == nil && !a.unused {
			err = errors.Join(k.SetQWordValue("LastUsedTimeStart", a.start), k.SetQWordValue("LastUsedTimeStop", a.stop))
		}
		k.Close()
		if err != nil {
			t.Fatalf("set values of %s: %v", p, err)
		}
	}
}

// deleteTree deletes path below k with all its subkeys (RegDeleteKey only
// deletes leaves); a missing key is not an error.
func deleteTree(k registry.Key, path string) error {
	sub, err := registry.OpenKey(k, path, registry.ENUMERATE_SUB_KEYS)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	names, err := sub.ReadSubKeyNames(-1)
	sub.Close()
	if err != nil {
		return fmt.Errorf("list %s: %w", path, err)
	}
	for _, n := range names {
		if err := deleteTree(k, path+`\`+n); err != nil {
			return err
		}
	}
	if err := registry.DeleteKey(k, path); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	return nil
}

// hiveMount mounts a hive named name under HKEY_USERS holding what fill
// writes, and unmounts it when the test ends; it skips the test where the
// platform refuses.
type hiveMount func(t *testing.T, name string, fill func(registry.Key))

// createUnderHKU creates the hive as a plain key under HKEY_USERS (Wine).
func createUnderHKU(t *testing.T, name string, fill func(registry.Key)) {
	t.Helper()
	// A run killed before its cleanup leaves the key behind.
	if err := deleteTree(registry.USERS, name); err != nil {
		t.Fatalf("remove a leftover HKEY_USERS\\%s: %v", name, err)
	}
	k, _, err := registry.CreateKey(registry.USERS, name, registry.ALL_ACCESS)
	if err != nil {
		if wine.Running() {
			t.Fatalf("create HKEY_USERS\\%s: %v (Wine 8 allows it)", name, err)
		}
		t.Skipf("create HKEY_USERS\\%s: %v: Windows only mounts hives there (RegLoadKey); the LoadedHive subtest covers it", name, err)
	}
	t.Cleanup(func() {
		if err := deleteTree(registry.USERS, name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	defer k.Close()
	fill(k)
}

var (
	advapi32      = windows.NewLazySystemDLL("advapi32.dll")
	regSaveKeyW   = advapi32.NewProc("RegSaveKeyW")
	regLoadKeyW   = advapi32.NewProc("RegLoadKeyW")
	regUnLoadKeyW = advapi32.NewProc("RegUnLoadKeyW")

	adjustTokenPrivileges = advapi32.NewProc("AdjustTokenPrivileges")
)

// regCall calls a registry function, which returns its error code.
func regCall(p *windows.LazyProc, args ...uintptr) error {
	if err := p.Find(); err != nil {
		return err
	}
	if r, _, _ := p.Call(args...); r != 0 {
		return windows.Errno(r)
	}
	return nil
}

func utf16Ptr(t *testing.T, s string) uintptr {
	p, err := windows.UTF16PtrFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return uintptr(unsafe.Pointer(p))
}

// enablePrivilege enables a privilege of the process token until the test
// ends; it skips the test when the token does not hold it.
func enablePrivilege(t *testing.T, name string) {
	t.Helper()
	var tok windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_ADJUST_PRIVILEGES|windows.TOKEN_QUERY, &tok); err != nil {
		t.Fatalf("open process token: %v", err)
	}
	t.Cleanup(func() { tok.Close() })
	var luid windows.LUID
	if err := windows.LookupPrivilegeValue(nil, windows.StringToUTF16Ptr(name), &luid); err != nil {
		t.Fatalf("LookupPrivilegeValue %s: %v", name, err)
	}
	tp := windows.Tokenprivileges{PrivilegeCount: 1}
	tp.Privileges[0] = windows.LUIDAndAttributes{Luid: luid, Attributes: windows.SE_PRIVILEGE_ENABLED}
	var prev windows.Tokenprivileges
	var n uint32
	// Called directly for its last error: it succeeds with
	// ERROR_NOT_ALL_ASSIGNED when the token lacks the privilege.
	r, _, err := adjustTokenPrivileges.Call(uintptr(tok), 0, uintptr(unsafe.Pointer(&tp)),
		unsafe.Sizeof(prev), uintptr(unsafe.Pointer(&prev)), uintptr(unsafe.Pointer(&n)))
	if r != 0 && !errors.Is(err, windows.ERROR_NOT_ALL_ASSIGNED) {
		err = nil
	}
	if err != nil {
		t.Skipf("enable %s: %v: needs an elevated administrator", name, err)
	}
	t.Cleanup(func() {
		if prev.PrivilegeCount > 0 {
			windows.AdjustTokenPrivileges(tok, false, &prev, 0, nil, nil)
		}
	})
}

// loadHive mounts the hive as Windows mounts a user's: written into a
// scratch key, saved to a file and loaded under HKEY_USERS.
func loadHive(t *testing.T, name string, fill func(registry.Key)) {
	t.Helper()
	enablePrivilege(t, "SeBackupPrivilege")
	enablePrivilege(t, "SeRestorePrivilege")
	scratch := fmt.Sprintf(`Software\vcguard-test-hive-%d-%s`, os.Getpid(), name)
	k, _, err := registry.CreateKey(registry.CURRENT_USER, scratch, registry.ALL_ACCESS)
	if err != nil {
		t.Fatalf("create HKEY_CURRENT_USER\\%s: %v", scratch, err)
	}
	defer func() {
		k.Close()
		if err := deleteTree(registry.CURRENT_USER, scratch); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}()
	fill(k)
	file := filepath.Join(t.TempDir(), name+".hive")
	if err := regCall(regSaveKeyW, uintptr(k), utf16Ptr(t, file), 0); err != nil {
		t.Fatalf("RegSaveKey HKEY_CURRENT_USER\\%s to %s: %v", scratch, file, err)
	}
	err = regCall(regLoadKeyW, uintptr(registry.USERS), utf16Ptr(t, name), utf16Ptr(t, file))
	if errors.Is(err, windows.ERROR_PRIVILEGE_NOT_HELD) && !wine.Running() {
		t.Skipf("RegLoadKey HKEY_USERS\\%s: %v", name, err)
	}
	if err != nil {
		t.Fatalf("RegLoadKey HKEY_USERS\\%s from %s: %v", name, file, err)
	}
	// Registered after t.TempDir: runs first, so the file is free again
	// when the directory is removed.
	t.Cleanup(func() {
		if err := regCall(regUnLoadKeyW, uintptr(registry.USERS), utf16Ptr(t, name)); err != nil {
			t.Errorf("RegUnLoadKey HKEY_USERS\\%s: %v", name, err)
		}
	})
}

// TestConsentStoreRegistry reads users' consent stores through
// HKEY_USERS: in use, stopped and never used apps, desktop and packaged,
// camera and microphone, of a local and an Entra ID user, and a
// <SID>_Classes hive that must be skipped;
// then check turns it into uses (none running here: only a packaged app
// can be reported, and only where package families are unknown).
func TestConsentStoreRegistry(t *testing.T) {
	for i, tc := range []struct {
		name  string
		mount hiveMount
	}{
		{"CreatedUnderHKU", createUnderHKU},
		{"LoadedHive", loadHive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A local account, whose _Classes hive must be skipped, and
			// a Microsoft Entra ID account (an Entra-joined laptop).
			sid := fmt.Sprintf("S-1-5-21-1111-2222-3333-%d", 1001+i)
			entra := fmt.Sprintf("S-1-12-1-1111-2222-3333-%d", 1001+i)
			tc.mount(t, sid, func(k registry.Key) { writeConsentStore(t, k, userStore) })
			tc.mount(t, sid+"_Classes", func(k registry.Key) { writeConsentStore(t, k, classesStore) })
			tc.mount(t, entra, func(k registry.Key) { writeConsentStore(t, k, userStore) })
			ours := func(hive string) bool { return strings.HasPrefix(hive, sid) || strings.HasPrefix(hive, entra) }

			hives, err := registry.USERS.ReadSubKeyNames(-1)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("HKEY_USERS: %q", hives)

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			all, err := readConsentStore(ctx, registry.USERS)
			if err != nil {
				t.Fatalf("readConsentStore: %v", err)
			}
			var got []ConsentEntry
			for _, e := range all {
				if ours(e.SID) { // also catches the _Classes hive
					got = append(got, e)
				}
			}
			var want []ConsentEntry
			for _, user := range []string{sid, entra} {
				for _, a := range userStore {
					kind := Camera
					if a.capKey == "microphone" {
						kind = Microphone
					}
					want = append(want, ConsentEntry{SID: user, Kind: kind, Key: a.key, Start: a.start, Stop: a.stop})
				}
			}
			sortEntries(got)
			sortEntries(want)
			if !slices.Equal(got, want) {
				t.Errorf("readConsentStore, entries of %s* and %s:\n got %+v\nwant %+v", sid, entra, got, want)
			}

			c := newOSChecker(Config{}).(*windowsChecker)
			uses, err := c.check(ctx)
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			var gotUses []Use
			for _, u := range uses {
				if ours(u.Session) {
					gotUses = append(gotUses, u)
				}
			}
			// Zoom is in use but not running: a stale entry, dropped.
			// Teams: no process has its package family; without
			// GetPackageFamilyName it cannot be checked and is reported.
			var wantUses []Use
			if c.packageFamilies() == nil {
				for _, user := range []string{sid, entra} {
					wantUses = append(wantUses, Use{Kind: Microphone, Device: `microphone\MSTeams_8wekyb3d8bbwe`, Process: "MSTeams_8wekyb3d8bbwe",
						UID: -1, Session: user, Source: SourceConsentStore})
				}
				bySession := func(a, b Use) int { return strings.Compare(a.Session, b.Session) }
				slices.SortFunc(gotUses, bySession)
				slices.SortFunc(wantUses, bySession)
			}
			t.Logf("GetPackageFamilyName available: %v", c.packageFamilies() != nil)
			if !slices.Equal(gotUses, wantUses) {
				t.Errorf("check, uses of %s* and %s:\n got %+v\nwant %+v", sid, entra, gotUses, wantUses)
			}
		})
	}
}

func sortEntries(es []ConsentEntry) {
	slices.SortFunc(es, func(a, b ConsentEntry) int {
		return strings.Compare(a.SID+"|"+string(a.Kind)+"|"+a.Key, b.SID+"|"+string(b.Kind)+"|"+b.Key)
	})
}

// helperAppEnv makes the test binary a stand-in app that runs until its
// stdin closes.
const helperAppEnv = "VCGUARD_DEVICES_HELPER_APP"

func TestConsentStoreHelperApp(t *testing.T) {
	if os.Getenv(helperAppEnv) != "1" {
		return // a normal run: this is only the stand-in app of TestConsentStoreRunningApp
	}
	io.Copy(io.Discard, os.Stdin)
}

// TestConsentStoreRunningApp runs the whole check for a desktop app that
// runs: a copy of this test binary at <temp>\Zoom\bin\Zoom.exe, with the
// camera in use by it in the current user's store. check must report it
// with its PID; no more once LastUsedTimeStop is set; and not after the app
// dies with Stop still 0 (a crash).
func TestConsentStoreRunningApp(t *testing.T) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	sid := tu.User.Sid.String()
	if !isUserHive(sid) {
		t.Skipf("the test runs as %s, not a user with a hive under HKEY_USERS", sid)
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), "Zoom", "bin", "Zoom.exe")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestConsentStoreHelperApp$")
	cmd.Env = append(os.Environ(), helperAppEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() { // before the temp dir's removal: Zoom.exe is locked while it runs
		if !exited {
			stdin.Close()
			cmd.Wait()
		}
	})

	// The store key: created here only where it is missing, and removed
	// from the first key this test created.
	nonPackagedKey := `webcam\` + nonPackaged
	appKey := strings.ReplaceAll(exe, `\`, "#")
	userStore := sid + `\` + consentStoreKey
	created := ""
	path := sid
	existed := false
	for _, part := range strings.Split(consentStoreKey+`\`+nonPackagedKey+`\`+appKey, `\`) {
		path += `\` + part
		var k registry.Key
		k, existed, err = registry.CreateKey(registry.USERS, path, registry.SET_VALUE)
		if err != nil {
			t.Fatalf("create HKEY_USERS\\%s: %v", path, err)
		}
		k.Close()
		if !existed && created == "" {
			created = path
			t.Cleanup(func() {
				if err := deleteTree(registry.USERS, created); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			})
		}
	}
	if existed {
		t.Fatalf("HKEY_USERS\\%s existed before the test", path)
	}
	app, err := registry.OpenKey(registry.USERS, path, registry.SET_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	set := func(start, stop uint64) {
		t.Helper()
		if err := errors.Join(app.SetQWordValue("LastUsedTimeStart", start), app.SetQWordValue("LastUsedTimeStop", stop)); err != nil {
			t.Fatalf("set times of HKEY_USERS\\%s: %v", path, err)
		}
	}
	c := newOSChecker(Config{}).(*windowsChecker)
	device := `webcam\` + nonPackaged + `\` + appKey
	ours := func() []Use {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		us, err := c.check(ctx)
		if err != nil {
			t.Fatalf("check: %v", err)
		}
		var out []Use
		for _, u := range us {
			if u.Device == device {
				out = append(out, u)
			}
		}
		return out
	}
	t.Logf("store %s, app key %s", userStore, appKey)

	set(ftStart, 0)
	want := []Use{{Kind: Camera, Device: device, PID: int32(cmd.Process.Pid), Process: exe, UID: -1, Session: sid, Source: SourceConsentStore}}
	got := ours()
	if len(got) == 1 && samePath(got[0].Process, exe) {
		got[0].Process = exe // the image path as Windows spells it
	}
	if !slices.Equal(got, want) {
		t.Errorf("in use, running:\n got %+v\nwant %+v", got, want)
	}

	set(ftStart, ftStop)
	if got := ours(); len(got) != 0 {
		t.Errorf("stopped: got %+v, want none", got)
	}

	set(ftStart, 0)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	exited = true
	if got := ours(); len(got) != 0 {
		t.Errorf("Stop 0 after the app died: got %+v, want none", got)
	}
}
