package policies_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vcguard/vcguard/policies"
)

func embeddedCatalog(t testing.TB) *policies.Catalog {
	t.Helper()
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatalf("EmbeddedCatalog: %v", err)
	}
	return cat
}

func TestEmbeddedCatalogLoads(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	var meetings, browsers int
	files, err := filepath.Glob(filepath.Join("catalog", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Apps()) != len(files) {
		t.Errorf("catalog has %d apps, catalog/ has %d files", len(cat.Apps()), len(files))
	}
	prev := ""
	for _, a := range cat.Apps() {
		if a.ID <= prev {
			t.Errorf("Apps() not sorted by id: %q after %q", a.ID, prev)
		}
		prev = a.ID
		if got, ok := cat.App(a.ID); !ok || got != a {
			t.Errorf("App(%q) = %v, %v; want the entry of Apps()", a.ID, got, ok)
		}
		// One file per tool, named after it.
		if want := "catalog/" + a.ID + ".yaml"; a.File != want {
			t.Errorf("app %q comes from %q, want %q", a.ID, a.File, want)
		}
		if len(a.Identify) == 0 && len(a.WebDomains) == 0 {
			t.Errorf("app %q can be recognised nowhere: no identify, no web_domains", a.ID)
		}
		switch a.Category {
		case policies.CategoryMeeting:
			meetings++
			if a.Facts == nil {
				t.Errorf("meeting tool %q has no facts", a.ID)
			}
		case policies.CategoryBrowser:
			browsers++
		}
	}
	if meetings < 30 || browsers < 6 {
		t.Errorf("catalog has %d meeting tools and %d browsers, want at least 30 and 6", meetings, browsers)
	}
	// Every tool the European guidance discusses, and the common ones.
	for _, id := range []string{"zoom", "microsoft-teams", "microsoft-teams-classic", "webex", "webex-meetings", "gotomeeting",
		"skype", "google-meet", "wire", "jitsi-meet", "bigbluebutton", "tixeo", "whereby", "signal", "whatsapp", "facetime",
		"slack", "discord", "telegram", "element", "jami", "linphone", "mumble", "nextcloud-talk", "ringcentral", "bluejeans",
		"zoho-meeting", "pexip", "lifesize", "teamviewer", "chrome", "firefox", "microsoft-edge", "safari"} {
		if _, ok := cat.App(id); !ok {
			t.Errorf("catalog lacks %q", id)
		}
	}
	if _, ok := cat.App("no-such-app"); ok {
		t.Error("App(no-such-app) found something")
	}
}

// Every file on disk parses alone, the same as the embedded copy.
func TestCatalogFilesParse(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("catalog", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		a, err := policies.ParseApp(f, data)
		if err != nil {
			t.Errorf("ParseApp(%s): %v", f, err)
			continue
		}
		if a.File != f {
			t.Errorf("ParseApp(%s).File = %q", f, a.File)
		}
	}
}

// validApp is a browser entry, which needs no facts; validMeeting adds
// the facts a meeting tool must carry.
const validApp = `app_id: demo
name: Demo Meet
vendor: Demo Inc.
category: browser
identify:
  linux:
    executables: [demo]
  windows:
    executables: [Demo.exe]
`

const meetingFacts = `facts:
  e2ee:
    value: optional
    note: Off by default.
    source: https://demo.example/security
    checked: 2026-11-23
  data_location: {value: eu_option, source: "https://demo.example/privacy", checked: 2026-11-23}
  self_hostable: {value: false, source: "https://demo.example/", checked: "2026-11-23"}
  open_source: {value: none, source: "https://demo.example/", checked: 2026-11-23}
  certifications: {value: [ISO/IEC 27001], source: "https://demo.example/trust", checked: 2026-11-23}
  jurisdiction: {value: eu_subsidiary, seat: IE, parent: US, entity: Demo Ireland Ltd., source: "https://demo.example/legal", checked: 2026-11-24}
  transfers: {value: sccs, outside_eea: [Demo Inc. (US)], source: "https://demo.example/subprocessors", checked: 2026-11-24}
  sso: {value: enforceable, protocols: [saml, oidc], source: "https://demo.example/sso", checked: 2026-11-25}
  mfa: {value: enforceable, source: "https://demo.example/sso", checked: 2026-11-25}
  telemetry: {value: opt_out, source: "https://demo.example/privacy", checked: 2026-11-26}
  processor_agreement: {value: standard, source: "https://demo.example/dpa", checked: 2026-11-26}
  business_model: {value: freemium, source: "https://demo.example/pricing", checked: 2026-11-27}
  lifecycle: {value: supported, source: "https://demo.example/", checked: 2026-11-27}
`

var validMeeting = strings.Replace(validApp, "category: browser", "category: meeting", 1) + meetingFacts

func TestParseAppErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		doc       string
		wantLine  int
		wantField string
		wantMsg   string // a substring of the message
		// syntax: a YAML syntax error, whose line the yaml package
		// reports one too low in some cases (0-based context marks); the
		// line may then be wantLine-1.
		syntax bool
	}{
		{
			name:     "empty document",
			doc:      "",
			wantLine: 1, wantMsg: "document is empty",
		},
		{
			name:     "only comments",
			doc:      "# nothing here\n\n",
			wantLine: 1, wantMsg: "document is empty",
		},
		{
			name:     "not a mapping",
			doc:      "- zoom\n- teams\n",
			wantLine: 1, wantMsg: "must be a mapping",
		},
		{
			name:     "syntax error",
			doc:      "app_id: demo\nname: [Demo\n",
			wantLine: 2, wantMsg: "did not find expected", syntax: true,
		},
		{
			name:     "unknown top-level field",
			doc:      "app_id: demo\nname: Demo\nvendr: Demo Inc.\n",
			wantLine: 3, wantField: "vendr", wantMsg: "unknown field",
		},
		{
			name:      "unknown nested field",
			doc:       strings.Replace(validApp, "    executables: [Demo.exe]\n", "    executables: [Demo.exe]\n    publisher: Demo\n", 1),
			wantLine:  10,
			wantField: "identify.windows.publisher", wantMsg: "unknown field",
		},
		{
			name:     "bad app id",
			doc:      strings.Replace(validApp, "app_id: demo", "app_id: Demo_App", 1),
			wantLine: 1, wantField: "app_id", wantMsg: `"Demo_App" is not a valid app id`,
		},
		{
			name:     "missing app id",
			doc:      strings.Replace(validApp, "app_id: demo\n", "", 1),
			wantLine: 1, wantField: "app_id", wantMsg: `"" is not a valid app id`,
		},
		{
			name:     "missing name",
			doc:      strings.Replace(validApp, "name: Demo Meet\n", "", 1),
			wantLine: 1, wantField: "name", wantMsg: "is required",
		},
		{
			name:     "blank name",
			doc:      strings.Replace(validApp, "name: Demo Meet", "name: '  '", 1),
			wantLine: 2, wantField: "name", wantMsg: "is required",
		},
		{
			name:     "missing vendor",
			doc:      strings.Replace(validApp, "vendor: Demo Inc.\n", "", 1),
			wantLine: 1, wantField: "vendor", wantMsg: "is required",
		},
		{
			name:     "bad category",
			doc:      strings.Replace(validApp, "category: browser", "category: chat", 1),
			wantLine: 4, wantField: "category", wantMsg: `"chat" is not one of meeting, browser`,
		},
		{
			name:     "no OS",
			doc:      "app_id: demo\nname: Demo\nvendor: Demo Inc.\ncategory: browser\nidentify: {}\n",
			wantLine: 5, wantField: "identify", wantMsg: "at least one OS",
		},
		{
			name:     "meeting tool without facts",
			doc:      strings.Replace(validApp, "category: browser", "category: meeting", 1),
			wantLine: 1, wantField: "facts", wantMsg: "required",
		},
		{
			name:     "fact missing",
			doc:      strings.Replace(validMeeting, "  open_source: {value: none, source: \"https://demo.example/\", checked: 2026-11-23}\n", "", 1),
			wantLine: 10, wantField: "facts.open_source", wantMsg: "is required",
		},
		{
			name:     "fact value not allowed",
			doc:      strings.Replace(validMeeting, "value: optional", "value: sometimes", 1),
			wantLine: 12, wantField: "facts.e2ee.value", wantMsg: "sometimes",
		},
		{
			name:     "fact source not https",
			doc:      strings.Replace(validMeeting, "https://demo.example/privacy", "http://demo.example/privacy", 1),
			wantLine: 16, wantField: "facts.data_location.source", wantMsg: "http://demo.example/privacy",
		},
		{
			name:     "fact without date",
			doc:      strings.Replace(validMeeting, "    checked: 2026-11-23\n", "", 1),
			wantLine: 11, wantField: "facts.e2ee.checked", wantMsg: "not a date",
		},
		{
			name:     "fact date malformed",
			doc:      strings.Replace(validMeeting, `checked: "2026-11-23"`, `checked: "23.11.2026"`, 1),
			wantLine: 17, wantField: "facts.self_hostable.checked", wantMsg: "23.11.2026",
		},
		{
			name:     "team id malformed",
			doc:      strings.Replace(validApp, "  windows:\n", "  darwin:\n    executables: [Demo]\n    team_ids: [abc]\n  windows:\n", 1),
			wantLine: 10, wantField: "identify.darwin.team_ids.0", wantMsg: "abc",
		},
		{
			name:     "unknown package system",
			doc:      strings.Replace(validApp, "    executables: [demo]\n", "    executables: [demo]\n    packages:\n      appimage: [demo]\n", 1),
			wantLine: 8, wantField: "identify.linux.packages", wantMsg: "appimage",
		},
		{
			name:     "unknown OS",
			doc:      validApp + "  freebsd:\n    executables: [demo]\n",
			wantLine: 10, wantField: "identify.freebsd", wantMsg: `unknown OS "freebsd"`,
		},
		{
			name:     "no executables",
			doc:      strings.Replace(validApp, "    executables: [demo]\n", "    paths: [/opt/demo/]\n", 1),
			wantLine: 6, wantField: "identify.linux.executables", wantMsg: "at least one executable",
		},
		{
			name:     "executable with directory",
			doc:      strings.Replace(validApp, "[Demo.exe]", `['C:\Demo\Demo.exe']`, 1),
			wantLine: 9, wantField: "identify.windows.executables", wantMsg: "base name",
		},
		{
			name:     "executable with slash in a block sequence",
			doc:      strings.Replace(validApp, "    executables: [demo]\n", "    executables:\n      - demo\n      - /usr/bin/demo\n", 1),
			wantLine: 7, wantField: "identify.linux.executables", wantMsg: `"/usr/bin/demo"`,
		},
		{
			name:     "empty executable",
			doc:      strings.Replace(validApp, "[demo]", `[""]`, 1),
			wantLine: 7, wantField: "identify.linux.executables", wantMsg: "base name",
		},
		{
			name:     "wrong type",
			doc:      strings.Replace(validApp, "    executables: [demo]\n", "    executables: demo\n", 1),
			wantLine: 7, wantMsg: "cannot unmarshal",
		},
		{
			name:     "two documents",
			doc:      validApp + "---\n" + validApp,
			wantLine: 10, wantMsg: "more than one YAML document",
		},
		{
			name:     "broken second document",
			doc:      validApp + "---\nname: [\n",
			wantLine: 11, wantMsg: "did not find expected", syntax: true,
		},
		{
			name:     "duplicate key",
			doc:      validApp + "name: Again\n",
			wantLine: 10, wantMsg: `"name" already defined at line 2`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := policies.ParseApp("catalog/demo.yaml", []byte(tt.doc))
			if err == nil {
				t.Fatalf("ParseApp accepted %+v", a)
			}
			line := tt.wantLine
			var fe *policies.FieldError
			if tt.syntax && errors.As(err, &fe) && fe.Line == line-1 {
				line--
			}
			checkFieldError(t, err, "catalog/demo.yaml", line, tt.wantField, tt.wantMsg)
		})
	}
}

func checkFieldError(t *testing.T, err error, file string, line int, field, msg string) {
	t.Helper()
	var fe *policies.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *FieldError", err, err)
	}
	if fe.File != file || fe.Line != line || fe.Field != field {
		t.Errorf("error %q at %s:%d field %q; want %s:%d field %q", fe.Msg, fe.File, fe.Line, fe.Field, file, line, field)
	}
	if !strings.Contains(fe.Msg, msg) {
		t.Errorf("message %q does not contain %q", fe.Msg, msg)
	}
	// The text a person reads names the place.
	text := err.Error()
	if !strings.HasPrefix(text, file+":") {
		t.Errorf("error %q does not start with %q", text, file+":")
	}
	if field != "" && !strings.Contains(text, "field "+field) {
		t.Errorf("error %q does not name field %q", text, field)
	}
}

func TestParseAppValid(t *testing.T) {
	t.Parallel()
	a, err := policies.ParseApp("catalog/demo.yaml", []byte(validApp))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "demo" || a.Name != "Demo Meet" || a.Vendor != "Demo Inc." || a.Category != policies.CategoryBrowser ||
		a.File != "catalog/demo.yaml" {
		t.Errorf("ParseApp = %+v", a)
	}
	if got := a.Identify["windows"].Executables; len(got) != 1 || got[0] != "Demo.exe" {
		t.Errorf("windows executables = %q", got)
	}
	m, err := policies.ParseApp("catalog/demo.yaml", []byte(validMeeting))
	if err != nil {
		t.Fatal(err)
	}
	f := m.Facts
	if f.E2EE.Value != "optional" || f.E2EE.Note != "Off by default." || f.E2EE.Checked != "2026-11-23" ||
		f.DataLocation.Value != "eu_option" || f.SelfHostable.Value || f.OpenSource.Value != "none" ||
		len(f.Certifications.Value) != 1 || f.Certifications.Source != "https://demo.example/trust" {
		t.Errorf("facts = %+v %+v %+v %+v %+v", f.E2EE, f.DataLocation, f.SelfHostable, f.OpenSource, f.Certifications)
	}
	// A web-only tool has no executables, only its web domains.
	web := "app_id: webmeet\nname: Web Meet\nvendor: W\ncategory: meeting\nweb_domains: [meet.example]\n" + meetingFacts
	if w, err := policies.ParseApp("catalog/webmeet.yaml", []byte(web)); err != nil || len(w.Identify) != 0 || w.WebDomains[0] != "meet.example" {
		t.Errorf("web-only entry: %+v, %v", w, err)
	}
	// JSON is YAML.
	j := `{"app_id": "demo", "name": "Demo", "vendor": "D", "category": "browser",
	       "identify": {"darwin": {"executables": ["Demo"], "bundle_ids": ["com.demo"]}}}`
	a, err = policies.ParseApp("demo.json", []byte(j))
	if err != nil {
		t.Fatal(err)
	}
	if a.Category != policies.CategoryBrowser || a.Identify["darwin"].BundleIDs[0] != "com.demo" {
		t.Errorf("ParseApp(json) = %+v", a)
	}
}

func TestFieldErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  policies.FieldError
		want string
	}{
		{policies.FieldError{File: "p.yaml", Line: 3, Field: "apps.zoom", Msg: "bad"}, "p.yaml:3: field apps.zoom: bad"},
		{policies.FieldError{File: "p.yaml", Line: 3, Msg: "bad"}, "p.yaml:3: bad"},
		{policies.FieldError{File: "p.yaml", Msg: "bad"}, "p.yaml: bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func app(t *testing.T, id, file string, identify map[string][]string) *policies.App {
	t.Helper()
	a := &policies.App{ID: id, Name: id, Vendor: "v", Category: policies.CategoryMeeting, File: file,
		Identify: map[string]policies.Identity{}}
	for goos, exes := range identify {
		a.Identify[goos] = policies.Identity{Executables: exes}
	}
	return a
}

func TestNewCatalogRefusesConflicts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		apps    func(t *testing.T) []*policies.App
		wantErr []string // substrings; none: success
	}{
		{
			name: "distinct",
			apps: func(t *testing.T) []*policies.App {
				return []*policies.App{
					app(t, "a", "a.yaml", map[string][]string{"linux": {"a"}, "windows": {"a.exe"}}),
					app(t, "b", "b.yaml", map[string][]string{"linux": {"b"}, "windows": {"b.exe"}}),
				}
			},
		},
		{
			name: "same executable on different OSes",
			apps: func(t *testing.T) []*policies.App {
				return []*policies.App{
					app(t, "a", "a.yaml", map[string][]string{"linux": {"meet"}}),
					app(t, "b", "b.yaml", map[string][]string{"darwin": {"meet"}}),
				}
			},
		},
		{
			name: "duplicate app id",
			apps: func(t *testing.T) []*policies.App {
				return []*policies.App{
					app(t, "a", "one.yaml", map[string][]string{"linux": {"a"}}),
					app(t, "a", "two.yaml", map[string][]string{"linux": {"b"}}),
				}
			},
			wantErr: []string{"two.yaml", `app_id "a"`, "one.yaml"},
		},
		{
			name: "same executable on one OS",
			apps: func(t *testing.T) []*policies.App {
				return []*policies.App{
					app(t, "a", "a.yaml", map[string][]string{"linux": {"meet"}}),
					app(t, "b", "b.yaml", map[string][]string{"linux": {"other", "meet"}}),
				}
			},
			wantErr: []string{"b.yaml", `"meet"`, "linux", `claimed by "a"`},
		},
		{
			name: "same executable in another case on windows",
			apps: func(t *testing.T) []*policies.App {
				return []*policies.App{
					app(t, "a", "a.yaml", map[string][]string{"windows": {"Meet.exe"}}),
					app(t, "b", "b.yaml", map[string][]string{"windows": {"meet.EXE"}}),
				}
			},
			wantErr: []string{"b.yaml", `"meet.EXE"`, "windows", `claimed by "a"`},
		},
		{
			// Linux names are case-sensitive, as the Linux matcher is.
			name: "same name in another case on linux",
			apps: func(t *testing.T) []*policies.App {
				return []*policies.App{
					app(t, "a", "a.yaml", map[string][]string{"linux": {"meet", "Meet"}}),
					app(t, "b", "b.yaml", map[string][]string{"linux": {"MEET"}}),
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cat, err := policies.NewCatalog(tt.apps(t)...)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("NewCatalog: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewCatalog accepted the entries: %v", cat.Apps())
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// An entry that collides with the embedded catalog is refused at load, with
// its file named.
func TestLoadCatalog(t *testing.T) {
	t.Parallel()
	zoom, err := os.ReadFile("catalog/zoom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		files   fstest.MapFS
		wantIDs []string
		wantErr string
	}{
		{
			name:    "two entries",
			files:   fstest.MapFS{"c/zoom.yaml": {Data: zoom}, "c/demo.yaml": {Data: []byte(validApp)}, "c/README.md": {Data: []byte("x")}},
			wantIDs: []string{"demo", "zoom"},
		},
		{
			name:    "no yaml",
			files:   fstest.MapFS{"c/README.md": {Data: []byte("x")}},
			wantErr: "c: no *.yaml files",
		},
		{
			name:    "broken entry",
			files:   fstest.MapFS{"c/zoom.yaml": {Data: zoom}, "c/demo.yaml": {Data: []byte(strings.Replace(validApp, "browser", "game", 1))}},
			wantErr: `c/demo.yaml:4: field category: "game"`,
		},
		{
			name:    "duplicate id in two files",
			files:   fstest.MapFS{"c/zoom.yaml": {Data: zoom}, "c/zoom-copy.yaml": {Data: zoom}},
			wantErr: `c/zoom.yaml: app_id "zoom" already defined in c/zoom-copy.yaml`,
		},
		{
			name: "executable claimed twice",
			files: fstest.MapFS{"c/zoom.yaml": {Data: zoom},
				"c/fake.yaml": {Data: []byte(strings.Replace(validApp, "[Demo.exe]", "[zoom.EXE]", 1))}},
			wantErr: `c/zoom.yaml: executable "Zoom.exe" on windows is already claimed by "demo"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cat, err := policies.LoadCatalog(tt.files, "c")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadCatalog error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range cat.Apps() {
				ids = append(ids, a.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("apps = %v, want %v", ids, tt.wantIDs)
			}
		})
	}
}

func TestMatcher(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	tests := []struct {
		goos, exe string
		want      string // app id; "" for no match
	}{
		{"linux", "zoom", "zoom"},
		{"linux", "ZoomLauncher", "zoom"},
		{"linux", "zoomlauncher", ""}, // linux file names are case-sensitive
		{"linux", "ZOOM", ""},
		{"linux", "teams-for-linux", "teams-for-linux"},
		{"linux", "teams", "microsoft-teams-classic"},
		{"linux", "Zoom.exe", ""}, // another OS's name
		{"linux", "/opt/zoom/zoom", ""},
		{"linux", "", ""},
		{"windows", "Zoom.exe", "zoom"},
		{"windows", "zoom.exe", "zoom"},
		{"windows", "ZOOM.EXE", "zoom"},
		{"windows", "jitsi meet.exe", "jitsi-meet"},
		{"windows", "zoom", ""},
		{"darwin", "zoom.us", "zoom"},
		{"darwin", "ZOOM.US", "zoom"},
		{"darwin", "msteams", "microsoft-teams"},
		{"darwin", "Microsoft Teams", ""},
		{"darwin", "teams", "microsoft-teams-classic"},
		{"darwin", "Signal", "signal"},
		{"darwin", "signal-desktop", ""},
		{"plan9", "zoom", ""},
	}
	matchers := map[string]*policies.Matcher{}
	for _, tt := range tests {
		m, ok := matchers[tt.goos]
		if !ok {
			m = cat.Matcher(tt.goos)
			matchers[tt.goos] = m
		}
		a, ok := m.Match(tt.exe)
		got := ""
		if ok {
			got = a.ID
		}
		if got != tt.want {
			t.Errorf("Matcher(%s).Match(%q) = %q, want %q", tt.goos, tt.exe, got, tt.want)
		}
	}
}

// Every executable of every entry is recognised on its OS.
func TestMatcherRecognisesWholeCatalog(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	for _, goos := range []string{"linux", "darwin", "windows"} {
		m := cat.Matcher(goos)
		for _, a := range cat.Apps() {
			for _, exe := range a.Identify[goos].Executables {
				if got, ok := m.Match(exe); !ok || got.ID != a.ID {
					t.Errorf("Matcher(%s).Match(%q) = %v, %v; want %s", goos, exe, got, ok, a.ID)
				}
			}
		}
	}
}

// ShortNames lists exactly what Interesting accepts on Linux (the exec
// filter loads it into the kernel): every catalog executable's short name,
// each accepted, and nothing where names are compared case-insensitively.
func TestMatcherShortNames(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	m := cat.Matcher("linux")
	names := m.ShortNames()
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("ShortNames() is not sorted and unique: %q", names)
	}
	for _, n := range names {
		if len(n) > policies.ShortNameLen("linux") || !m.Interesting(n) {
			t.Errorf("ShortNames() holds %q, which Interesting refuses or no comm can be", n)
		}
	}
	for _, a := range cat.Apps() {
		for _, exe := range a.Identify["linux"].Executables {
			short := exe[:min(len(exe), policies.ShortNameLen("linux"))]
			if !slices.Contains(names, short) {
				t.Errorf("ShortNames() lacks %q (%s's %q)", short, a.ID, exe)
			}
		}
	}
	if len(names) < 50 {
		t.Errorf("ShortNames() = %d names; the catalog has more Linux executables", len(names))
	}
	for _, goos := range []string{"darwin", "windows"} {
		if got := cat.Matcher(goos).ShortNames(); got != nil {
			t.Errorf("Matcher(%s).ShortNames() = %q, want nil (names compared case-insensitively)", goos, got)
		}
	}
}

// A multi-service host may embed only the catalog's meeting tools, and
// EmbeddedNames gives their names in the host's order.
func TestCatalogChecksEmbeds(t *testing.T) {
	t.Parallel()
	host := func(t *testing.T, ids string) *policies.App {
		t.Helper()
		a, err := policies.ParseApp("host.yaml", []byte("app_id: host\nname: Host\nvendor: V\ncategory: multi_service\nidentify:\n  linux:\n    executables: [host]\nembeds:\n  apps: ["+ids+"]\n  source: https://example.org/services\n  checked: '2026-12-06'\n"))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	meeting, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	zoom, _ := meeting.App("zoom")
	slack, _ := meeting.App("slack")
	firefox, _ := meeting.App("firefox")
	for _, tt := range []struct {
		name    string
		ids     string
		apps    []*policies.App
		wantErr []string
	}{
		{name: "meeting tools", ids: "slack, zoom", apps: []*policies.App{zoom, slack}},
		{name: "unknown id", ids: "zoom, nosuch", apps: []*policies.App{zoom}, wantErr: []string{"host.yaml", "embeds", `"nosuch" is no app of the catalog`}},
		{name: "a browser", ids: "firefox", apps: []*policies.App{firefox}, wantErr: []string{"host.yaml", `"firefox" is a browser entry, not a meeting tool`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := host(t, tt.ids)
			cat, err := policies.NewCatalog(append([]*policies.App{h}, tt.apps...)...)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("NewCatalog accepted the host")
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := cat.EmbeddedNames(h), []string{slack.Name, zoom.Name}; !slices.Equal(got, want) {
				t.Errorf("EmbeddedNames = %q, want %q", got, want)
			}
			if got := cat.EmbeddedNames(zoom); got != nil {
				t.Errorf("EmbeddedNames of a meeting tool = %q, want none", got)
			}
		})
	}
}
