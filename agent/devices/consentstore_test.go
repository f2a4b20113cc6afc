package devices

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFiletimeToTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ft   uint64
		want time.Time
	}{
		{0, time.Time{}},
		{116444736000000000, time.Unix(0, 0).UTC()},
		{133591113010000000, time.Date(2024, 5, 2, 8, 15, 1, 0, time.UTC)},
		{133591113010000001, time.Date(2024, 5, 2, 8, 15, 1, 100, time.UTC)},
		{1, time.Date(1601, 1, 1, 0, 0, 0, 100, time.UTC)},
	} {
		if got := FiletimeToTime(tc.ft); !got.Equal(tc.want) {
			t.Errorf("FiletimeToTime(%d) = %v, want %v", tc.ft, got, tc.want)
		}
	}
}

func TestNonPackagedPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ key, want string }{
		{`NonPackaged\C:#Program Files#Zoom#bin#Zoom.exe`, `C:\Program Files\Zoom\bin\Zoom.exe`},
		{`nonpackaged\C:#a.exe`, `C:\a.exe`},
		{`C:#Users#alice#AppData#Local#Discord#app-1.0.9#Discord.exe`, `C:\Users\alice\AppData\Local\Discord\app-1.0.9\Discord.exe`},
		{`Microsoft.WindowsCamera_8wekyb3d8bbwe`, `Microsoft.WindowsCamera_8wekyb3d8bbwe`},
	} {
		if got := NonPackagedPath(tc.key); got != tc.want {
			t.Errorf("NonPackagedPath(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestPackageName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ family, want string }{
		{"Microsoft.WindowsCamera_8wekyb3d8bbwe", "Microsoft.WindowsCamera"},
		{"MSTeams_8wekyb3d8bbwe", "MSTeams"},
		{"NoPublisher", "NoPublisher"},
		{"_x", "_x"},
	} {
		if got := PackageName(tc.family); got != tc.want {
			t.Errorf("PackageName(%q) = %q, want %q", tc.family, got, tc.want)
		}
	}
}

func TestConsentEntryRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		e               ConsentEntry
		inUse, packaged bool
	}{
		{ConsentEntry{Key: "MSTeams_8wekyb3d8bbwe", Start: 5}, true, true},
		{ConsentEntry{Key: "MSTeams_8wekyb3d8bbwe", Start: 5, Stop: 6}, false, true},
		{ConsentEntry{Key: "MSTeams_8wekyb3d8bbwe"}, false, true},
		{ConsentEntry{Key: `NonPackaged\C:#a.exe`, Start: 5}, true, false},
		{ConsentEntry{Key: `nonpackaged\C:#a.exe`, Stop: 5}, false, false},
	} {
		if tc.e.InUse() != tc.inUse || tc.e.IsPackaged() != tc.packaged {
			t.Errorf("%+v: InUse %v IsPackaged %v, want %v %v", tc.e, tc.e.InUse(), tc.e.IsPackaged(), tc.inUse, tc.packaged)
		}
	}
	for name, want := range map[string]bool{
		"S-1-5-21-3623811015-3361044348-30300820-1001":         true,
		"S-1-5-21-3623811015-3361044348-30300820-1001_Classes": false,
		"S-1-5-18":     false,
		".DEFAULT":     false,
		"S-1-5-19":     false,
		"S-1-5-21-1-2": true,
		// Microsoft Entra ID (Azure AD) users.
		"S-1-12-1-1134101088-1151655155-3051483063-1663312217":         true,
		"S-1-12-1-1134101088-1151655155-3051483063-1663312217_Classes": false,
		"S-1-5-20": false,
	} {
		if isUserHive(name) != want {
			t.Errorf("isUserHive(%q) = %v", name, !want)
		}
	}
}

func loadConsentFixture(t testing.TB) []ConsentEntry {
	t.Helper()
	f, err := os.Open("testdata/consentstore.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := DecodeConsentStore(f)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

const (
	alice = "S-1-5-21-3623811015-3361044348-30300820-1001"
	bob   = "S-1-5-21-3623811015-3361044348-30300820-1002"
)

// fixtureProcs is alice's session: Zoom, Chrome (root 6000 and helpers
// with lower PIDs), the Camera app; Crashy is not running; bob runs
// nothing.
func fixtureProcs() []winProcess {
	chrome := `C:\Program Files\Google\Chrome\Application\chrome.exe`
	return []winProcess{
		{PID: 900, PPID: 800, Path: `C:\Windows\explorer.exe`, SID: alice},
		{PID: 4100, PPID: 900, Path: `C:\Users\alice\AppData\Roaming\Zoom\bin\Zoom.exe`, SID: alice},
		{PID: 5010, PPID: 6000, Path: chrome, SID: alice},
		{PID: 5020, PPID: 6000, Path: chrome, SID: alice},
		{PID: 6000, PPID: 900, Path: chrome, SID: alice},
		{PID: 7000, PPID: 1200, Path: `C:\Program Files\WindowsApps\Microsoft.WindowsCamera_2024.2405.9.0_x64__8wekyb3d8bbwe\WindowsCamera.exe`,
			PackageFamily: "Microsoft.WindowsCamera_8wekyb3d8bbwe", SID: alice},
	}
}

func TestDecodeConsentStore(t *testing.T) {
	t.Parallel()
	es := loadConsentFixture(t)
	if len(es) != 9 {
		t.Fatalf("%d entries, want 9", len(es))
	}
	if es[0].Kind != Camera || es[4].Kind != Microphone {
		t.Errorf("kinds not mapped: %q %q", es[0].Kind, es[4].Kind)
	}
	if got := FiletimeToTime(es[0].Start); !got.Equal(time.Date(2024, 5, 2, 8, 15, 1, 0, time.UTC)) {
		t.Errorf("start %v", got)
	}
	for _, bad := range []string{
		`{}`,
		`[{"sid":"S-1-5-21-1","kind":"speaker","key":"a"}]`,
		`[{"sid":"alice","kind":"webcam","key":"a"}]`,
		`[{"sid":"S-1-5-21-1","kind":"webcam","key":""}]`,
		`[{"sid":"S-1-5-21-1","kind":"webcam","key":"\\a"}]`,
		`[{"sid":"S-1-5-21-1","kind":"webcam","key":"a","start":-1}]`,
	} {
		if _, err := DecodeConsentStore(strings.NewReader(bad)); err == nil {
			t.Errorf("DecodeConsentStore(%s) accepted", bad)
		}
	}
}

func TestResolveConsent(t *testing.T) {
	t.Parallel()
	es := loadConsentFixture(t)
	chrome := `C:\Program Files\Google\Chrome\Application\chrome.exe`
	zoom := `C:\Users\alice\AppData\Roaming\Zoom\bin\Zoom.exe`
	camApp := `C:\Program Files\WindowsApps\Microsoft.WindowsCamera_2024.2405.9.0_x64__8wekyb3d8bbwe\WindowsCamera.exe`
	zoomKey := `NonPackaged\C:#Users#alice#AppData#Roaming#Zoom#bin#Zoom.exe`

	got := resolveConsent(es, fixtureProcs(), true)
	Sort(got)
	want := []Use{
		{Kind: Camera, Device: `webcam\` + zoomKey, PID: 4100, Process: zoom, UID: -1, Session: alice, Source: SourceConsentStore},
		{Kind: Camera, Device: `webcam\Microsoft.WindowsCamera_8wekyb3d8bbwe`, PID: 7000, Process: camApp, UID: -1, Session: alice, Source: SourceConsentStore},
		{Kind: Microphone, Device: `microphone\` + zoomKey, PID: 4100, Process: zoom, UID: -1, Session: alice, Source: SourceConsentStore},
		{Kind: Microphone, Device: `microphone\NonPackaged\C:#Program Files#Google#Chrome#Application#chrome.exe`, PID: 6000, Process: chrome, UID: -1, Session: alice, Source: SourceConsentStore},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resolveConsent:\n got %+v\nwant %+v", got, want)
	}

	// Without package families the packaged entry cannot be checked: it
	// is reported with PID 0 and its family name.
	got = resolveConsent(es, fixtureProcs(), false)
	Sort(got)
	if len(got) != 4 || got[0].PID != 0 || got[0].Process != "Microsoft.WindowsCamera_8wekyb3d8bbwe" || got[0].Kind != Camera {
		t.Errorf("without package families: %+v", got)
	}

	// Nothing running: every in-use entry is stale.
	if got := resolveConsent(es, nil, true); len(got) != 0 {
		t.Errorf("no processes: %+v", got)
	}

	// Owners unknown (OpenProcessToken refused): paths still match, and
	// bob's Chrome entry then matches alice's Chrome too.
	procs := fixtureProcs()
	for i := range procs {
		procs[i].SID = ""
	}
	if got := resolveConsent(es, procs, true); len(got) != 5 {
		t.Errorf("unknown owners: %d uses, want 5: %+v", len(got), got)
	}
}

func TestSamePath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{`C:\Program Files\Zoom\Zoom.exe`, `c:\program files\zoom\ZOOM.EXE`, true},
		{`\\?\C:\a.exe`, `C:\a.exe`, true},
		{`C:/a.exe`, `C:\a.exe`, true},
		{``, ``, false},
		{`C:\a.exe`, `C:\b.exe`, false},
	} {
		if samePath(tc.a, tc.b) != tc.want {
			t.Errorf("samePath(%q, %q) = %v", tc.a, tc.b, !tc.want)
		}
	}
	if got := exeBase(`C:\Program Files\Zoom\Zoom.exe`); got != "zoom.exe" {
		t.Errorf("exeBase = %q", got)
	}
}

func FuzzDecodeConsentStore(f *testing.F) {
	seed, err := os.ReadFile("testdata/consentstore.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`[{"sid":"S-1-5-21-1","kind":"microphone","key":"NonPackaged\\C:#a#b.exe","start":1,"stop":0}]`))
	f.Add([]byte(`[{"sid":"S-1-5-21-1","kind":"webcam","key":"A_b","start":18446744073709551615}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := DecodeConsentStore(bytes.NewReader(b))
		if err != nil {
			return
		}
		procs := fixtureProcs()
		for _, e := range es {
			_ = FiletimeToTime(e.Start)
			_ = FiletimeToTime(e.Stop)
			if !e.IsPackaged() {
				p := NonPackagedPath(e.Key)
				procs = append(procs, winProcess{PID: int32(len(procs) + 10000), Path: p, SID: e.SID})
			} else {
				_ = PackageName(e.Key)
			}
		}
		us := resolveConsent(es, procs, true)
		inUse := 0
		for _, e := range es {
			if e.InUse() {
				inUse++
			}
		}
		if len(us) > inUse {
			t.Fatalf("%d uses from %d in-use entries", len(us), inUse)
		}
		for _, u := range us {
			if u.Source != SourceConsentStore || u.UID != -1 || u.Session == "" || u.PID == 0 {
				t.Fatalf("bad use %+v", u)
			}
			if u.Kind != Camera && u.Kind != Microphone {
				t.Fatalf("bad kind %+v", u)
			}
		}
	})
}

func FuzzFiletimeToTime(f *testing.F) {
	f.Add(uint64(0))
	f.Add(uint64(133591113010000000))
	f.Add(^uint64(0))
	f.Fuzz(func(t *testing.T, ft uint64) {
		tm := FiletimeToTime(ft)
		if ft == 0 {
			if !tm.IsZero() {
				t.Fatal("0 is not the zero time")
			}
			return
		}
		back := uint64(tm.Unix()+filetimeEpochDelta/10_000_000)*10_000_000 + uint64(tm.Nanosecond()/100)
		if back != ft {
			t.Fatalf("FiletimeToTime(%d) = %v, round trip %d", ft, tm, back)
		}
	})
}
