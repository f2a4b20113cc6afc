package devices

// Windows: the CapabilityAccessManager consent store of every loaded user
// hive, cross-checked against the running processes so an app that crashed
// with LastUsedTimeStop still 0 is not in use forever. The rules are in
// consentstore.go; this file reads the registry and the process table.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/vcguard/vcguard/agent/proctable"
)

// windowsChecker polls the consent store.
type windowsChecker struct {
	cfg Config
	tab *proctable.Table

	// getPackageFamilyName is kernel32's GetPackageFamilyName (Windows 8
	// and later), bound lazily; nil when missing.
	once                 sync.Once
	getPackageFamilyName *windows.LazyProc
}

func newOSChecker(cfg Config) osChecker {
	return &windowsChecker{cfg: cfg, tab: proctable.New(proctable.Config{})}
}

// start: the consent store has no cheap change notification for every
// hive; the Watcher polls.
func (*windowsChecker) start(context.Context) (<-chan struct{}, error) { return nil, nil }

func (c *windowsChecker) check(ctx context.Context) ([]Use, error) {
	entries, err := readConsentStore(ctx, registry.USERS)
	if err != nil {
		return nil, err
	}
	// Most checks find nothing in use: only then list processes.
	var inUse []ConsentEntry
	wantAll := false
	want := map[string]bool{}
	for _, e := range entries {
		if !e.InUse() {
			continue
		}
		inUse = append(inUse, e)
		if e.IsPackaged() {
			wantAll = true
		} else {
			want[exeBase(NonPackagedPath(e.Key))] = true
		}
	}
	if len(inUse) == 0 {
		return nil, nil
	}
	procs, err := c.processes(ctx, func(exe string) bool { return wantAll || want[strings.ToLower(exe)] })
	if err != nil {
		return nil, fmt.Errorf("camera/microphone check: %w", err)
	}
	return resolveConsent(inUse, procs, c.packageFamilies() != nil), nil
}

// readConsentStore reads the webcam and microphone entries of every loaded
// user hive below users (registry.USERS; its subkeys are the hives, named
// by SID). A hive or key that is missing or unreadable is skipped: the
// store only exists for users who used a device.
func readConsentStore(ctx context.Context, users registry.Key) ([]ConsentEntry, error) {
	hives, err := users.ReadSubKeyNames(-1)
	if err != nil {
		return nil, fmt.Errorf("consent store: list HKEY_USERS: %w", err)
	}
	var out []ConsentEntry
	for _, sid := range hives {
		if !isUserHive(sid) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, capb := range consentCapabilities {
			out = append(out, readCapability(users, sid, capb.Key, capb.Kind)...)
		}
	}
	return out, nil
}

func readCapability(users registry.Key, sid, capKey string, kind Kind) []ConsentEntry {
	k, err := registry.OpenKey(users, sid+`\`+consentStoreKey+`\`+capKey, registry.ENUMERATE_SUB_KEYS|registry.QUERY_VALUE)
	if err != nil {
		return nil
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(-1)
	if err != nil {
		return nil
	}
	var out []ConsentEntry
	for _, name := range names {
		if strings.EqualFold(name, nonPackaged) {
			out = append(out, readNonPackaged(k, sid, kind)...)
			continue
		}
		if e, ok := readApp(k, name, sid, kind, name); ok {
			out = append(out, e)
		}
	}
	return out
}

func readNonPackaged(capk registry.Key, sid string, kind Kind) []ConsentEntry {
	k, err := registry.OpenKey(capk, nonPackaged, registry.ENUMERATE_SUB_KEYS|registry.QUERY_VALUE)
	if err != nil {
		return nil
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(-1)
	if err != nil {
		return nil
	}
	var out []ConsentEntry
	for _, name := range names {
		if e, ok := readApp(k, name, sid, kind, nonPackaged+`\`+name); ok {
			out = append(out, e)
		}
	}
	return out
}

// readApp reads one app key's FILETIMEs.
func readApp(parent registry.Key, name, sid string, kind Kind, key string) (ConsentEntry, bool) {
	k, err := registry.OpenKey(parent, name, registry.QUERY_VALUE)
	if err != nil {
		return ConsentEntry{}, false
	}
	defer k.Close()
	e := ConsentEntry{SID: sid, Kind: kind, Key: key}
	e.Start, _, _ = k.GetIntegerValue("LastUsedTimeStart")
	e.Stop, _, _ = k.GetIntegerValue("LastUsedTimeStop")
	return e, true
}

// packageFamilies returns GetPackageFamilyName, or nil before Windows 8.
func (c *windowsChecker) packageFamilies() *windows.LazyProc {
	c.once.Do(func() {
		p := windows.NewLazySystemDLL("kernel32.dll").NewProc("GetPackageFamilyName")
		if p.Find() == nil {
			c.getPackageFamilyName = p
		}
	})
	return c.getPackageFamilyName
}

// processes lists running processes and describes those whose image
// file name want accepts: their path, package family and owner. A process
// that cannot be opened keeps empty fields.
func (c *windowsChecker) processes(ctx context.Context, want func(exe string) bool) ([]winProcess, error) {
	entries, err := c.tab.List()
	if err != nil {
		return nil, err
	}
	var out []winProcess
	for _, e := range entries {
		if !want(e.Name) {
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		p := winProcess{PID: e.PID, PPID: e.PPID}
		c.describe(&p)
		out = append(out, p)
	}
	return out, nil
}

// describe fills a process's image path, package family and owner SID.
func (c *windowsChecker) describe(p *winProcess) {
	p.Path, _ = c.tab.Exe(p.PID)
	if o, err := c.tab.Owner(p.PID); err == nil {
		p.SID = o.SID
	}
	proc := c.packageFamilies()
	if proc == nil {
		return
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(p.PID))
	if err != nil {
		return
	}
	defer windows.CloseHandle(h)
	p.PackageFamily = packageFamily(proc, h)
}

// appmodelErrorNoPackage is APPMODEL_ERROR_NO_PACKAGE: a desktop process.
const appmodelErrorNoPackage = 15700

// packageFamily calls GetPackageFamilyName(hProcess, &len, buf), which
// returns a Win32 error code; "" for a process without package identity.
func packageFamily(proc *windows.LazyProc, h windows.Handle) string {
	n := uint32(windows.MAX_PATH)
	for range 2 {
		buf := make([]uint16, n)
		r, _, _ := proc.Call(uintptr(h), uintptr(unsafe.Pointer(&n)), uintptr(unsafe.Pointer(&buf[0])))
		switch windows.Errno(r) {
		case 0:
			return windows.UTF16ToString(buf)
		case windows.ERROR_INSUFFICIENT_BUFFER:
			continue // n now holds the length needed
		case appmodelErrorNoPackage:
			return ""
		default:
			return ""
		}
	}
	return ""
}
