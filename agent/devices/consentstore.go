package devices

// Decoding of the Windows CapabilityAccessManager consent store. No build
// tag: devices_windows.go reads the registry into ConsentEntry values and
// lists processes; the rules here (FILETIMEs, key names, what is in use,
// which running process it is) are tested on Linux with a recorded layout
// in testdata/consentstore.json.
//
// Layout, per loaded user hive (HKEY_USERS\<SID>, see isUserHive):
//
//	Software\Microsoft\Windows\CurrentVersion\CapabilityAccessManager\ConsentStore\
//	  webcam\<package family name>                  LastUsedTimeStart, LastUsedTimeStop (REG_QWORD FILETIME)
//	  webcam\NonPackaged\C:#Program Files#App#a.exe  (the path with '\' written as '#')
//	  microphone\...                                 the same
//
// LastUsedTimeStop is 0 while the app uses the device.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// consentStoreKey is the consent store under a user hive.
const consentStoreKey = `Software\Microsoft\Windows\CurrentVersion\CapabilityAccessManager\ConsentStore`

// nonPackaged is the subkey holding desktop (non-packaged) apps.
const nonPackaged = "NonPackaged"

// consentCapabilities maps the store's capability keys to kinds.
var consentCapabilities = []struct {
	Key  string
	Kind Kind
}{
	{"webcam", Camera},
	{"microphone", Microphone},
}

// ConsentEntry is one app key of the consent store.
type ConsentEntry struct {
	// SID is the user hive's SID (S-1-5-21-… or S-1-12-1-…).
	SID string `json:"sid"`
	// Kind is the device: "camera" or "microphone" (the store's "webcam"
	// is accepted when decoding).
	Kind Kind `json:"kind"`
	// Key is the app's key below the capability key: a package family
	// name, or NonPackaged\<path with '#' for '\'>.
	Key string `json:"key"`
	// Start and Stop are LastUsedTimeStart and LastUsedTimeStop, FILETIMEs
	// (100 ns intervals since 1601-01-01 UTC); 0 when absent.
	Start uint64 `json:"start"`
	Stop  uint64 `json:"stop"`
}

// filetimeEpochDelta is the number of 100 ns intervals between 1601-01-01
// and 1970-01-01.
const filetimeEpochDelta = 116444736000000000

// FiletimeToTime converts a FILETIME to a time; 0 is the zero time.
func FiletimeToTime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	// Split to stay in int64 for every uint64 input.
	const perSec = 10_000_000
	sec := int64(ft/perSec) - filetimeEpochDelta/perSec
	nsec := int64(ft%perSec) * 100
	return time.Unix(sec, nsec).UTC()
}

// InUse reports whether the entry says the app uses the device now: it
// started (LastUsedTimeStart set) and has not stopped (LastUsedTimeStop
// 0). A crashed app leaves Stop at 0; resolveConsent checks the app still
// runs.
func (e ConsentEntry) InUse() bool { return e.Start != 0 && e.Stop == 0 }

// IsPackaged reports whether the entry is a packaged (MSIX/AppX) app.
func (e ConsentEntry) IsPackaged() bool {
	return !strings.HasPrefix(strings.ToLower(e.Key), strings.ToLower(nonPackaged)+`\`)
}

// NonPackagedPath returns the executable path a NonPackaged key names
// ("C:#Program Files#Zoom#bin#Zoom.exe" → `C:\Program Files\Zoom\bin\Zoom.exe`),
// with or without the NonPackaged\ prefix. The store writes '\' as '#', so a
// '#' in the real path cannot be told apart and comes back as '\'.
func NonPackagedPath(key string) string {
	if i := strings.IndexByte(key, '\\'); i >= 0 && strings.EqualFold(key[:i], nonPackaged) {
		key = key[i+1:]
	}
	return strings.ReplaceAll(key, "#", `\`)
}

// PackageName returns the name part of a package family name
// ("Microsoft.WindowsCamera_8wekyb3d8bbwe" → "Microsoft.WindowsCamera"): a
// family name is <name>_<publisher id>, and names contain no '_'.
func PackageName(family string) string {
	if i := strings.LastIndexByte(family, '_'); i > 0 {
		return family[:i]
	}
	return family
}

// DecodeConsentStore reads a recorded consent store layout: a JSON list of
// entries (testdata/consentstore.json). It validates what the registry
// walk guarantees: a user SID, a known kind, a key.
func DecodeConsentStore(r io.Reader) ([]ConsentEntry, error) {
	var es []ConsentEntry
	dec := json.NewDecoder(r)
	if err := dec.Decode(&es); err != nil {
		return nil, fmt.Errorf("decode consent store: %w", err)
	}
	for i := range es {
		e := &es[i]
		switch strings.ToLower(string(e.Kind)) {
		case "webcam", "camera":
			e.Kind = Camera
		case "microphone":
			e.Kind = Microphone
		default:
			return nil, fmt.Errorf("decode consent store: entry %d: unknown kind %q (want webcam, camera or microphone)", i, e.Kind)
		}
		if !strings.HasPrefix(e.SID, "S-1-") {
			return nil, fmt.Errorf("decode consent store: entry %d: %q is not a SID", i, e.SID)
		}
		if e.Key == "" || strings.Trim(e.Key, `\`) != e.Key {
			return nil, fmt.Errorf("decode consent store: entry %d: bad key %q", i, e.Key)
		}
	}
	return es, nil
}

// isUserHive reports whether a subkey of HKEY_USERS is a loaded user's
// hive, not its …_Classes companion: a local or domain account
// (S-1-5-21-…) or a Microsoft Entra ID (Azure AD) account, S-1-12-1-…, the
// user of an Entra-joined laptop. Service accounts (S-1-5-18/19/20) and
// .DEFAULT are not users.
func isUserHive(name string) bool {
	return (strings.HasPrefix(name, "S-1-5-21-") || strings.HasPrefix(name, "S-1-12-1-")) &&
		!strings.HasSuffix(strings.ToLower(name), "_classes")
}

// winProcess is one running process for the cross-check.
type winProcess struct {
	PID, PPID int32
	// Path is the full Win32 image path; "" when it could not be read.
	Path string
	// PackageFamily is the process's package family name; "" for a
	// desktop app or when unknown.
	PackageFamily string
	// SID owns the process; "" when unknown.
	SID string
}

// resolveConsent turns in-use consent entries into uses, each with the
// running process it belongs to. An entry whose app no longer runs (it
// crashed, leaving Stop at 0) is dropped. A desktop app is matched by image
// path, a packaged app by package family; only processes of the entry's
// user count when their owner is known. When several processes run the
// image (a browser's helpers), the one whose parent is not the same image
// (the root of the tree) is chosen, lowest PID first.
//
// packagesKnown says whether the process list carries package families; if
// not, a packaged app cannot be checked and is reported with PID 0.
func resolveConsent(entries []ConsentEntry, procs []winProcess, packagesKnown bool) []Use {
	byPID := make(map[int32]*winProcess, len(procs))
	for i := range procs {
		byPID[procs[i].PID] = &procs[i]
	}
	var out []Use
	for _, e := range entries {
		if !e.InUse() {
			continue
		}
		u := Use{Kind: e.Kind, Device: consentDevice(e), UID: -1, Session: e.SID, Source: SourceConsentStore}
		var match func(p *winProcess) bool
		if e.IsPackaged() {
			u.Process = e.Key
			if !packagesKnown {
				out = append(out, u)
				continue
			}
			match = func(p *winProcess) bool { return strings.EqualFold(p.PackageFamily, e.Key) }
		} else {
			exe := NonPackagedPath(e.Key)
			u.Process = exe
			match = func(p *winProcess) bool { return samePath(p.Path, exe) }
		}
		var cands []*winProcess
		for i := range procs {
			p := &procs[i]
			if (p.SID == "" || strings.EqualFold(p.SID, e.SID)) && match(p) {
				cands = append(cands, p)
			}
		}
		if len(cands) == 0 {
			continue // not running: a stale entry
		}
		slices.SortFunc(cands, func(a, b *winProcess) int {
			ra, rb := isTreeRoot(a, byPID, match), isTreeRoot(b, byPID, match)
			if ra != rb {
				if ra {
					return -1
				}
				return 1
			}
			return cmp.Compare(a.PID, b.PID)
		})
		u.PID = cands[0].PID
		if cands[0].Path != "" {
			u.Process = cands[0].Path
		}
		out = append(out, u)
	}
	return out
}

func isTreeRoot(p *winProcess, byPID map[int32]*winProcess, match func(*winProcess) bool) bool {
	parent, ok := byPID[p.PPID]
	return !ok || parent.PID == p.PID || !match(parent)
}

// consentDevice names the consent store key of an entry.
func consentDevice(e ConsentEntry) string {
	capKey := string(e.Kind)
	for _, c := range consentCapabilities {
		if c.Kind == e.Kind {
			capKey = c.Key
		}
	}
	return capKey + `\` + e.Key
}

// samePath compares Windows paths: case-insensitively, '/' as '\', and
// without the \\?\ prefix.
func samePath(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	norm := func(s string) string {
		s = strings.ReplaceAll(s, "/", `\`)
		s = strings.TrimPrefix(s, `\\?\`)
		return s
	}
	return strings.EqualFold(norm(a), norm(b))
}

// exeBase is the lower-cased file name of a Windows path, to preselect
// processes by their Toolhelp name before opening them.
func exeBase(p string) string {
	return strings.ToLower(path.Base(strings.ReplaceAll(p, `\`, "/")))
}
