// Package policies holds what agent and server share: the catalog of
// videoconferencing tools, the allow-list policy model, its evaluation and
// its signature. The evaluator is the same code on both sides, so the
// dashboard's verdict is the agent's verdict.
package policies

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

//go:embed catalog/*.yaml
var catalogFS embed.FS

// Category says what kind of tool a catalog entry is.
type Category string

const (
	// CategoryMeeting is a videoconferencing or calling app.
	CategoryMeeting Category = "meeting"
	// CategoryBrowser is a web browser: not a meeting app itself, but a
	// browser using the camera or microphone is a meeting.
	CategoryBrowser Category = "browser"
	// CategoryMultiService is an app that shows the web apps of several
	// services (Teams, Slack, WhatsApp, ...) side by side in one window,
	// such as Ferdium, Franz or Rambox. It is not a meeting tool of its
	// own, nor a browser whose sites the agent can read: which embedded
	// service uses the camera or microphone cannot be seen (the hosts keep
	// no per-site permission files, and none of them reads the browsers'
	// managed policies), and no service's facts are the host's. The entry
	// names the catalog's meeting services the host offers (Embeds), so
	// that a policy decides about the host itself and a notice can say
	// what it hides.
	CategoryMultiService Category = "multi_service"
)

// Categories are the catalog's categories, in the order a list shows them.
var Categories = []Category{CategoryMeeting, CategoryBrowser, CategoryMultiService}

// categoryList is Categories for an error message.
func categoryList() string {
	names := make([]string, len(Categories))
	for i, c := range Categories {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// CallsInside reports whether an app of category c holds calls in web
// pages it shows (a browser, a multi-service host): its camera on is a
// call, never a device left on.
func (c Category) CallsInside() bool { return c == CategoryBrowser || c == CategoryMultiService }

// ValidCategory reports whether c is one of Categories.
func ValidCategory(c Category) bool { return slices.Contains(Categories, c) }

// App is one catalog entry: how to recognise a tool on each OS.
type App struct {
	ID       string   `yaml:"app_id" json:"app_id"`
	Name     string   `yaml:"name" json:"name"`
	Vendor   string   `yaml:"vendor" json:"vendor"`
	Category Category `yaml:"category" json:"category"`
	Homepage string   `yaml:"homepage,omitempty" json:"homepage,omitempty"`
	// WebDomains are the domains of the tool's web client (and their
	// subdomains). The agent judges the sites a browser lets use the
	// camera and microphone by them, and an enforcing policy allows them
	// in the browsers' managed policies; it never looks at the pages a
	// browser shows.
	WebDomains []string `yaml:"web_domains,omitempty" json:"web_domains,omitempty"`
	// Identify maps a GOOS value (linux, darwin, windows) to how the tool
	// shows up there. A web-only tool has none.
	Identify map[string]Identity `yaml:"identify,omitempty" json:"identify,omitempty"`
	// Facts are what the guidance asks about the tool, each with its
	// source. Required for meeting tools.
	Facts *Facts `yaml:"facts,omitempty" json:"facts,omitempty"`
	// LocalSetup says what the agent reads from the tool's own local
	// configuration to tell the organisation's server and account from
	// others (allowed_servers, allowed_accounts), and, where it cannot read
	// it reliably, why.
	LocalSetup *LocalSetup `yaml:"local_setup,omitempty" json:"local_setup,omitempty"`
	// Posture are the checks of the client's own settings (updates,
	// telemetry, single sign-on, start at login, recordings), each naming
	// the file, registry key or folder it reads and the vendor's
	// documentation of it.
	Posture []PostureCheck `yaml:"posture,omitempty" json:"posture,omitempty"`
	// Embeds are, for a multi-service host (and only there), the meeting
	// services it offers; required for one.
	Embeds *Embeds `yaml:"embeds,omitempty" json:"embeds,omitempty"`

	// File is the catalog file the entry came from.
	File string `yaml:"-" json:"-"`
}

// SetupReading says how much of one part of an app's setup the agent
// reads.
type SetupReading string

const (
	// SetupRead: read on every OS the app runs on.
	SetupRead SetupReading = "read"
	// SetupPartly: read on some OSes or only in part; the note says
	// which.
	SetupPartly SetupReading = "partly"
	// SetupNotRead: not read; the note says why.
	SetupNotRead SetupReading = "not_read"
)

// LocalSetup is what the agent reads of an app's servers and accounts.
type LocalSetup struct {
	Servers  SetupReading `yaml:"servers" json:"servers"`
	Accounts SetupReading `yaml:"accounts" json:"accounts"`
	// Note says which file and field is read, or why nothing is.
	Note string `yaml:"note" json:"note"`
}

// Reads reports whether the agent reads any part of the setup.
func (l *LocalSetup) Reads() bool {
	return l != nil && (l.Servers != SetupNotRead || l.Accounts != SetupNotRead)
}

func (l *LocalSetup) validate(fail func(msg string, field ...string) error) error {
	for _, f := range []struct {
		name string
		v    SetupReading
	}{{"servers", l.Servers}, {"accounts", l.Accounts}} {
		if f.v != SetupRead && f.v != SetupPartly && f.v != SetupNotRead {
			return fail(fmt.Sprintf("%q is not one of read, partly, not_read", f.v), "local_setup", f.name)
		}
	}
	if strings.TrimSpace(l.Note) == "" {
		return fail("is required: say which file is read, or why nothing is", "local_setup", "note")
	}
	return nil
}

// Identity is how a tool shows up on one OS.
type Identity struct {
	// Executables are executable base names (e.g. "Zoom.exe", "zoom").
	Executables []string `yaml:"executables" json:"executables"`
	// Paths are install locations; an executable found under one of them is
	// the genuine tool.
	Paths []string `yaml:"paths,omitempty" json:"paths,omitempty"`
	// BundleIDs are macOS bundle identifiers.
	BundleIDs []string `yaml:"bundle_ids,omitempty" json:"bundle_ids,omitempty"`
	// TeamIDs are macOS code-signing team identifiers.
	TeamIDs []string `yaml:"team_ids,omitempty" json:"team_ids,omitempty"`
	// Publishers are Windows Authenticode publisher names.
	Publishers []string `yaml:"publishers,omitempty" json:"publishers,omitempty"`
	// PackageFamilies are Microsoft Store package family names
	// (Name_PublisherId) of the tool's Store variant: an executable under
	// WindowsApps\<Name>_<Version>_<Arch>_<Resource>_<PublisherId>\ of one
	// of these families is the genuine tool.
	PackageFamilies []string `yaml:"package_families,omitempty" json:"package_families,omitempty"`
	// Packages are Linux package names by package system (deb, rpm,
	// flatpak, snap).
	Packages map[string][]string `yaml:"packages,omitempty" json:"packages,omitempty"`
}

// Catalog is the set of known tools.
type Catalog struct {
	apps []*App
	byID map[string]*App
}

// KnownOS are the GOOS values a catalog entry may describe.
var knownOS = map[string]bool{"linux": true, "darwin": true, "windows": true}

var appIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,40}$`)

// EmbeddedCatalog loads the catalog compiled into the binary.
func EmbeddedCatalog() (*Catalog, error) {
	return LoadCatalog(catalogFS, "catalog")
}

// LoadCatalog reads every *.yaml file in dir of fsys. A broken entry fails
// the whole load with its file and line.
func LoadCatalog(fsys fs.FS, dir string) (*Catalog, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list catalog %s: %w", dir, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("catalog %s: no *.yaml files", dir)
	}
	var apps []*App
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read catalog entry: %w", err)
		}
		app, err := ParseApp(name, data)
		if err != nil {
			return nil, err
		}
		apps = append(apps, app)
	}
	return NewCatalog(apps...)
}

// NewCatalog builds a catalog from entries, refusing duplicate app ids and
// two entries that claim the same executable, bundle id or package on the
// same OS.
func NewCatalog(apps ...*App) (*Catalog, error) {
	c := &Catalog{byID: make(map[string]*App, len(apps))}
	claimed := make(map[string]string) // os + "\x00" + lower(exe) -> app id
	for _, a := range apps {
		if prev, ok := c.byID[a.ID]; ok {
			return nil, fmt.Errorf("%s: app_id %q already defined in %s", a.File, a.ID, prev.File)
		}
		c.byID[a.ID] = a
		c.apps = append(c.apps, a)
		for goos, id := range a.Identify {
			for _, exe := range id.Executables {
				key := goos + "\x00exe\x00" + exe
				if goos != "linux" { // matched case-insensitively there
					key = goos + "\x00exe\x00" + strings.ToLower(exe)
				}
				if other, ok := claimed[key]; ok {
					return nil, fmt.Errorf("%s: executable %q on %s is already claimed by %q", a.File, exe, goos, other)
				}
				claimed[key] = a.ID
			}
			// A bundle or a package is one app's: two entries claiming it
			// would both verify the same executable.
			for _, b := range id.BundleIDs {
				key := goos + "\x00bundle\x00" + strings.ToLower(b)
				if other, ok := claimed[key]; ok {
					return nil, fmt.Errorf("%s: bundle id %q is already claimed by %q", a.File, b, other)
				}
				claimed[key] = a.ID
			}
			for system, names := range id.Packages {
				for _, n := range names {
					key := goos + "\x00" + system + "\x00" + n
					if other, ok := claimed[key]; ok {
						return nil, fmt.Errorf("%s: %s package %q is already claimed by %q", a.File, system, n, other)
					}
					claimed[key] = a.ID
				}
			}
		}
	}
	sort.Slice(c.apps, func(i, j int) bool { return c.apps[i].ID < c.apps[j].ID })
	if err := c.checkEmbeds(); err != nil {
		return nil, err
	}
	return c, nil
}

// ParseApp parses and validates one catalog entry.
func ParseApp(file string, data []byte) (*App, error) {
	var a App
	root, err := decodeStrict(file, data, &a)
	if err != nil {
		return nil, err
	}
	a.File = file
	fail := func(msg string, field ...string) error {
		return &FieldError{File: file, Line: LineOf(root, field...), Field: strings.Join(field, "."), Msg: msg}
	}
	if !appIDPattern.MatchString(a.ID) {
		return nil, fail(fmt.Sprintf("%q is not a valid app id (lower case letters, digits and '-', starting with a letter)", a.ID), "app_id")
	}
	if strings.TrimSpace(a.Name) == "" {
		return nil, fail("is required", "name")
	}
	if strings.TrimSpace(a.Vendor) == "" {
		return nil, fail("is required", "vendor")
	}
	if !ValidCategory(a.Category) {
		return nil, fail(fmt.Sprintf("%q is not one of %s", a.Category, categoryList()), "category")
	}
	if len(a.Identify) == 0 && len(a.WebDomains) == 0 {
		return nil, fail("needs at least one OS (or web_domains for a web-only tool)", "identify")
	}
	if a.Category != CategoryMeeting && len(a.Identify) == 0 {
		return nil, fail(fmt.Sprintf("is required for a %s entry (only a meeting tool can be web-only)", a.Category), "identify")
	}
	if a.Category == CategoryMeeting && a.Facts == nil {
		return nil, fail("is required for a meeting tool", "facts")
	}
	if a.Category != CategoryMeeting && a.Facts != nil {
		return nil, fail(fmt.Sprintf("are only for meeting tools, not for a %s entry", a.Category), "facts")
	}
	if err := a.validateEmbeds(fail); err != nil {
		return nil, err
	}
	if a.LocalSetup != nil {
		if a.Category != CategoryMeeting {
			return nil, fail("is only for meeting tools", "local_setup")
		}
		if err := a.LocalSetup.validate(fail); err != nil {
			return nil, err
		}
	}
	if a.Facts != nil {
		if err := a.Facts.validate(fail); err != nil {
			return nil, err
		}
	}
	if len(a.Posture) > 0 && a.Category != CategoryMeeting {
		return nil, fail("is only for meeting tools", "posture")
	}
	if err := validatePosture(a.Posture, fail); err != nil {
		return nil, err
	}
	for goos, id := range a.Identify {
		if !knownOS[goos] {
			return nil, fail(fmt.Sprintf("unknown OS %q (want linux, darwin or windows)", goos), "identify", goos)
		}
		if len(id.Executables) == 0 {
			return nil, fail("needs at least one executable name", "identify", goos, "executables")
		}
		for _, exe := range id.Executables {
			if exe == "" || strings.ContainsAny(exe, `/\`) {
				return nil, fail(fmt.Sprintf("%q must be a base name without directories", exe), "identify", goos, "executables")
			}
		}
	}
	if err := checkIdentities(a.Identify, fail); err != nil {
		return nil, err
	}
	return &a, nil
}

// Apps returns the entries sorted by app id.
func (c *Catalog) Apps() []*App { return c.apps }

// App returns the entry with the given id.
func (c *Catalog) App(id string) (*App, bool) {
	a, ok := c.byID[id]
	return a, ok
}

// WebService returns the catalog meeting app whose web client a host
// belongs to: one of its web_domains or a subdomain of one, the longest
// (most specific) domain winning; case-insensitive.
func (c *Catalog) WebService(host string) (*App, bool) {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	var best *App
	bestLen := 0
	for _, a := range c.apps {
		for _, d := range a.WebDomains {
			d = strings.ToLower(d)
			if (h == d || strings.HasSuffix(h, "."+d)) && len(d) > bestLen {
				best, bestLen = a, len(d)
			}
		}
	}
	return best, best != nil
}

// WebServicesUnder returns the catalog apps with a web domain that is host
// or a subdomain of it (a browser grant for host and all its subdomains
// covers them all), sorted by id.
func (c *Catalog) WebServicesUnder(host string) []*App {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	var out []*App
	for _, a := range c.apps {
		for _, d := range a.WebDomains {
			d = strings.ToLower(d)
			if d == h || strings.HasSuffix(d, "."+h) {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

// Matcher recognises catalog apps from process names on one OS.
type Matcher struct {
	goos          string
	caseSensitive bool
	shortLen      int
	byExe         map[string]*App
	byShort       map[string]*App
}

// ShortNameLen is how many bytes of a process name the OS lists cheaply:
// Linux's comm holds 15, macOS's p_comm 16 (MAXCOMLEN); Windows lists the
// whole image name (0).
func ShortNameLen(goos string) int {
	switch goos {
	case "linux":
		return 15
	case "darwin":
		return 16
	}
	return 0
}

// Matcher returns a matcher for goos. Executable names are compared
// case-insensitively on darwin and windows, whose file systems usually are.
func (c *Catalog) Matcher(goos string) *Matcher {
	m := &Matcher{goos: goos, caseSensitive: goos == "linux", shortLen: ShortNameLen(goos),
		byExe: make(map[string]*App), byShort: make(map[string]*App)}
	for _, a := range c.apps {
		for _, exe := range a.Identify[goos].Executables {
			m.byExe[m.key(exe)] = a
			m.byShort[m.key(m.short(exe))] = a
		}
	}
	return m
}

func (m *Matcher) key(name string) string {
	if m.caseSensitive {
		return name
	}
	return strings.ToLower(name)
}

func (m *Matcher) short(name string) string {
	if m.shortLen > 0 && len(name) > m.shortLen {
		return name[:m.shortLen]
	}
	return name
}

// Match returns the app whose executable base name is name.
func (m *Matcher) Match(name string) (*App, bool) {
	a, ok := m.byExe[m.key(name)]
	return a, ok
}

// Interesting reports whether a process listed under shortName (the OS's
// possibly truncated name) may be a catalog app, so that its executable
// is worth reading.
func (m *Matcher) Interesting(shortName string) bool {
	_, ok := m.byShort[m.key(m.short(shortName))]
	return ok
}

// ShortNames returns every short name Interesting accepts, sorted, when
// the test is exact (case-sensitive, as on Linux), so that the OS can
// filter by them (the Linux agent's in-kernel exec filter); it returns
// nil where names are compared case-insensitively.
func (m *Matcher) ShortNames() []string {
	if !m.caseSensitive {
		return nil
	}
	return slices.Sorted(maps.Keys(m.byShort))
}

// MatchProcess returns the app a process belongs to by its names: the
// executable's base name, else a short name that is a catalog executable's
// whole name (a process may rename itself), else, only when the executable
// could not be read, a short name that is a truncated catalog name.
func (m *Matcher) MatchProcess(name, shortName string, exeKnown bool) (*App, bool) {
	if a, ok := m.Match(name); ok {
		return a, true
	}
	if a, ok := m.Match(shortName); ok {
		return a, true
	}
	if !exeKnown {
		a, ok := m.byShort[m.key(m.short(shortName))]
		return a, ok
	}
	return nil, false
}

// The rules of policies/schema/catalog-entry.schema.json that the checks
// above do not already cover; package schema's tests keep both in step.
var (
	teamIDPattern    = regexp.MustCompile(`^[A-Z0-9]{10}$`)
	packageSystems   = map[string]bool{"deb": true, "rpm": true, "flatpak": true, "snap": true}
	bundleIDPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)
	packageNameRunes = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)
	// A package family name is the package name (3 to 50 letters, digits,
	// dots and dashes) and the 13-character publisher id.
	packageFamilyPattern = regexp.MustCompile(`^[A-Za-z0-9.-]{3,50}_[a-z0-9]{13}$`)
)

func checkIdentities(ids map[string]Identity, fail func(msg string, field ...string) error) error {
	for goos, id := range ids {
		for i, t := range id.TeamIDs {
			if !teamIDPattern.MatchString(t) {
				return fail(fmt.Sprintf("%q is not a team id (10 upper-case letters or digits)", t), "identify", goos, "team_ids", strconv.Itoa(i))
			}
		}
		for i, b := range id.BundleIDs {
			if !bundleIDPattern.MatchString(b) {
				return fail(fmt.Sprintf("%q is not a bundle id", b), "identify", goos, "bundle_ids", strconv.Itoa(i))
			}
		}
		if len(id.PackageFamilies) > 0 && goos != "windows" {
			return fail("are Microsoft Store packages, only for windows", "identify", goos, "package_families")
		}
		for i, f := range id.PackageFamilies {
			if !packageFamilyPattern.MatchString(f) {
				return fail(fmt.Sprintf("%q is not a package family name (Name_PublisherId, the publisher id 13 lower-case letters or digits)", f), "identify", goos, "package_families", strconv.Itoa(i))
			}
		}
		for system, names := range id.Packages {
			if !packageSystems[system] {
				return fail(fmt.Sprintf("%q is not a package system (deb, rpm, flatpak, snap)", system), "identify", goos, "packages")
			}
			for i, n := range names {
				if !packageNameRunes.MatchString(n) {
					return fail(fmt.Sprintf("%q is not a package name", n), "identify", goos, "packages", system, strconv.Itoa(i))
				}
			}
		}
	}
	return nil
}
