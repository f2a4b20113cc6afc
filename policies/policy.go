package policies

import (
	"embed"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vcguard/vcguard/policies/groupname"
)

//go:embed examples/*.yaml
var examplesFS embed.FS

// Status is what a policy says about a tool.
type Status string

const (
	// StatusApproved tools may be used.
	StatusApproved Status = "approved"
	// StatusRestricted tools may be used with a caveat shown to the user.
	StatusRestricted Status = "restricted"
	// StatusForbidden tools must not be used.
	StatusForbidden Status = "forbidden"
)

func (s Status) valid() bool {
	return s == StatusApproved || s == StatusRestricted || s == StatusForbidden
}

// Action is what the agent does about a finding.
type Action string

const (
	// ActionMonitor records the finding only.
	ActionMonitor Action = "monitor"
	// ActionWarn records the finding and notifies the user.
	ActionWarn Action = "warn"
	// ActionBlock warns, then terminates the tool after the grace period,
	// and again on every relaunch.
	ActionBlock Action = "block"
)

func (a Action) valid() bool {
	return a == ActionMonitor || a == ActionWarn || a == ActionBlock
}

// Built-in actions where a policy sets none. Forbidden, unverified and
// outdated tools warn; restricted tools warn too, because their caveat is
// only seen through a notification; approved and unlisted tools are
// recorded only. A policy never blocks unless it says so.
const (
	DefaultForbiddenAction  = ActionWarn
	DefaultUnverifiedAction = ActionWarn
	DefaultOutdatedAction   = ActionWarn
	DefaultRestrictedAction = ActionWarn
	DefaultUnlistedAction   = ActionMonitor
	DefaultApprovedAction   = ActionMonitor
	// DefaultBlockGrace is the time between the warning and the
	// termination of a blocked tool.
	DefaultBlockGrace = 60 * time.Second
)

// Built-in camera and microphone actions where a policy sets none.
const (
	DefaultMediaForbiddenAction  = ActionWarn
	DefaultMediaUnverifiedAction = ActionWarn
	DefaultMediaUnknownAction    = ActionMonitor
	// DefaultScreenShareAction and DefaultOutputRecordingAction record a
	// screen cast and a recording of the output, telling nobody.
	DefaultScreenShareAction     = ActionMonitor
	DefaultOutputRecordingAction = ActionMonitor
)

// Bounds of the durations a policy may set.
const (
	minBlockGrace  = time.Second
	maxBlockGrace  = 24 * time.Hour
	maxIdleMinutes = 24 * 60
)

// Policy is an allow-list: what the organisation decides about each tool.
//
// A tool is judged by the most specific decision that names it: its entry
// in the device group's apps, else in the policy's apps; else the first
// matching rule of the group, else of the policy; else the group's
// default, else the policy's default; else it is unlisted.
type Policy struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Default is the status of tools the policy does not name and no rule
	// matches; empty leaves them unlisted.
	Default Status `yaml:"default,omitempty" json:"default,omitempty"`
	// Apps maps a catalog app id to the rule for it.
	Apps map[string]AppRule `yaml:"apps" json:"apps"`
	// Rules judge catalog tools that Apps does not name by their catalog
	// facts, in order; the first that matches decides.
	Rules []Rule `yaml:"rules,omitempty" json:"rules,omitempty"`
	// Actions say what the agent does about each kind of finding.
	Actions Actions `yaml:"actions,omitempty" json:"actions,omitempty"`
	// Groups override the policy for the devices of a group, by group
	// name.
	Groups map[string]Group `yaml:"groups,omitempty" json:"groups,omitempty"`
	// Media are the camera and microphone rules.
	Media *MediaRules `yaml:"media,omitempty" json:"media,omitempty"`
	// Browsers are the rules for meetings held in a browser.
	Browsers *BrowserRules `yaml:"browsers,omitempty" json:"browsers,omitempty"`

	// cat is the catalog the policy was validated against; rules are
	// judged against its facts. Nil in a policy built by hand, which
	// then judges by apps and default only.
	cat *Catalog
}

// AppRule is the decision about one tool.
type AppRule struct {
	Status Status `yaml:"status" json:"status"`
	// MinVersion is the oldest version allowed (dotted numbers, e.g.
	// "6.0.2"); an older approved or restricted tool is outdated.
	MinVersion string `yaml:"min_version,omitempty" json:"min_version,omitempty"`
	// Alternative is the app id of the approved tool to use instead.
	Alternative string `yaml:"alternative,omitempty" json:"alternative,omitempty"`
	// Note is shown to the user (e.g. the caveat of a restricted tool):
	// one text for every language, or a text per language.
	Note Note `yaml:"note,omitempty" json:"note,omitzero"`
	// InfoURL is an https page that explains the decision to the user.
	InfoURL string `yaml:"info_url,omitempty" json:"info_url,omitempty"`
	// AllowedServers are the servers the app may be set up for, as host
	// names ("meet.example.org") or "*." patterns for the subdomains of one
	// ("*.example.org"); empty allows any. Another server is a
	// wrong_server finding.
	AllowedServers []string `yaml:"allowed_servers,omitempty" json:"allowed_servers,omitempty"`
	// AllowedAccounts are the accounts the app may be signed in with:
	// tenant ids, login domains, or "work" for any organisation's account
	// (no personal one); empty allows any. Another account is a
	// personal_account finding.
	AllowedAccounts []string `yaml:"allowed_accounts,omitempty" json:"allowed_accounts,omitempty"`
}

// Rule judges the catalog tools whose facts match When.
type Rule struct {
	// When lists the conditions, all of which must hold; a rule without
	// conditions matches every catalog tool, so it must be the last.
	When        Conditions `yaml:"when,omitempty" json:"when,omitempty"`
	Status      Status     `yaml:"status" json:"status"`
	Alternative string     `yaml:"alternative,omitempty" json:"alternative,omitempty"`
	Note        Note       `yaml:"note,omitempty" json:"note,omitzero"`
	InfoURL     string     `yaml:"info_url,omitempty" json:"info_url,omitempty"`
}

// Actions map each kind of finding to what the agent does; an empty
// field takes the built-in default (see DefaultForbiddenAction). Block is
// allowed for forbidden, unverified and outdated tools only.
type Actions struct {
	Forbidden  Action `yaml:"forbidden,omitempty" json:"forbidden,omitempty"`
	Unverified Action `yaml:"unverified,omitempty" json:"unverified,omitempty"`
	Outdated   Action `yaml:"outdated,omitempty" json:"outdated,omitempty"`
	Restricted Action `yaml:"restricted,omitempty" json:"restricted,omitempty"`
	Unlisted   Action `yaml:"unlisted,omitempty" json:"unlisted,omitempty"`
	// Approved may only be monitor; it exists so a policy can say so.
	Approved Action `yaml:"approved,omitempty" json:"approved,omitempty"`
	// BlockGrace is the time between the warning and the termination of
	// a blocked tool, as a Go duration ("2m", "90s"); default 60s.
	BlockGrace string `yaml:"block_grace,omitempty" json:"block_grace,omitempty"`
	// WrongServer: an app is set up for a server its allowed_servers does
	// not list; default warn.
	WrongServer Action `yaml:"wrong_server,omitempty" json:"wrong_server,omitempty"`
	// PersonalAccount: an app is signed in with an account its
	// allowed_accounts does not allow; default warn.
	PersonalAccount Action `yaml:"personal_account,omitempty" json:"personal_account,omitempty"`
	// Posture says what to do about each kind of finding on an approved
	// or restricted client's own settings (updates_off, outdated_package,
	// telemetry_on, sso_not_enforced, autostart, keeps_running,
	// recording): monitor or warn; default monitor.
	Posture map[PostureKind]Action `yaml:"posture,omitempty" json:"posture,omitempty"`
}

// Group overrides parts of the policy for the devices of one group.
type Group struct {
	Apps    map[string]AppRule `yaml:"apps,omitempty" json:"apps,omitempty"`
	Rules   []Rule             `yaml:"rules,omitempty" json:"rules,omitempty"`
	Default Status             `yaml:"default,omitempty" json:"default,omitempty"`
	// Actions override the policy's actions field by field.
	Actions Actions `yaml:"actions,omitempty" json:"actions,omitempty"`
}

// MediaRules say what the agent does when a tool uses the camera or the
// microphone. An empty action takes the built-in default (see
// DefaultMediaForbiddenAction).
type MediaRules struct {
	// ForbiddenApps: a forbidden tool uses the camera or microphone.
	ForbiddenApps Action `yaml:"forbidden_apps,omitempty" json:"forbidden_apps,omitempty"`
	// UnverifiedApps: a look-alike of a catalog tool uses them.
	UnverifiedApps Action `yaml:"unverified_apps,omitempty" json:"unverified_apps,omitempty"`
	// UnknownApps: a process outside the catalog uses them; never block,
	// since it may be anything.
	UnknownApps Action `yaml:"unknown_apps,omitempty" json:"unknown_apps,omitempty"`
	// IdleMinutes is how long a device may stay open unused before it is
	// reported; 0 turns the check off.
	IdleMinutes int `yaml:"idle_minutes,omitempty" json:"idle_minutes,omitempty"`
	// ScreenShare: a process shares the screen (a screen cast); never
	// block, it is the employee's own choice to show their screen.
	ScreenShare Action `yaml:"screen_share,omitempty" json:"screen_share,omitempty"`
	// OutputRecording: a process records what the computer plays (the
	// other participants of a call); never block, as for unknown apps.
	OutputRecording Action `yaml:"output_recording,omitempty" json:"output_recording,omitempty"`
	// LeftRunningMinutes is how long a meeting app may keep running after
	// its last camera or microphone use before the employee is reminded to
	// close it; 0 turns the check off.
	LeftRunningMinutes int `yaml:"left_running_minutes,omitempty" json:"left_running_minutes,omitempty"`
}

var (
	minVersionRE = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,9}){0,7}$`)
)

// ParsePolicy parses and validates a policy document (YAML or JSON) against
// the catalog, which the policy keeps to judge tools by its rules. Errors
// name the file, line and field.
func ParsePolicy(file string, data []byte, cat *Catalog) (*Policy, error) {
	var p Policy
	root, err := decodeStrict(file, data, &p)
	if err != nil {
		return nil, err
	}
	p.cat = cat
	v := validator{p: &p, cat: cat, fail: func(msg string, field ...string) error {
		return &FieldError{File: file, Line: LineOf(root, field...), Field: strings.Join(field, "."), Msg: msg}
	}}
	if err := v.policy(); err != nil {
		return nil, err
	}
	return &p, nil
}

type validator struct {
	p    *Policy
	cat  *Catalog
	fail func(msg string, field ...string) error
}

func (v validator) policy() error {
	p := v.p
	if strings.TrimSpace(p.Name) == "" {
		return v.fail("is required", "name")
	}
	if err := v.status(p.Default, false, "default"); err != nil {
		return err
	}
	if err := v.apps(p.Apps, "apps"); err != nil {
		return err
	}
	if err := v.rules(p.Rules, "rules"); err != nil {
		return err
	}
	if err := v.actions(p.Actions, "actions"); err != nil {
		return err
	}
	for _, name := range sortedKeys(p.Groups) {
		g := p.Groups[name]
		if !groupname.Valid(name) {
			return v.fail(fmt.Sprintf("%q is not a valid group name (lower case letters, digits and '-', at most 41, starting with a letter or digit)", name), "groups", name)
		}
		if err := v.status(g.Default, false, "groups", name, "default"); err != nil {
			return err
		}
		if err := v.apps(g.Apps, "groups", name, "apps"); err != nil {
			return err
		}
		if err := v.rules(g.Rules, "groups", name, "rules"); err != nil {
			return err
		}
		if err := v.actions(g.Actions, "groups", name, "actions"); err != nil {
			return err
		}
	}
	if err := v.media(p.Media); err != nil {
		return err
	}
	if err := v.browsers(p.Browsers); err != nil {
		return err
	}
	return v.alternatives()
}

func (v validator) status(s Status, required bool, path ...string) error {
	if s == "" && !required {
		return nil
	}
	if !s.valid() {
		return v.fail(fmt.Sprintf("%q is not one of approved, restricted, forbidden", s), path...)
	}
	return nil
}

func (v validator) apps(apps map[string]AppRule, path ...string) error {
	for _, id := range sortedKeys(apps) {
		rule := apps[id]
		at := func(field ...string) []string { return append(append(append([]string{}, path...), id), field...) }
		if _, ok := v.cat.App(id); !ok {
			return v.fail(fmt.Sprintf("%q is not an app id of the catalog", id), at()...)
		}
		if err := v.status(rule.Status, true, at("status")...); err != nil {
			return err
		}
		if rule.MinVersion != "" {
			if !minVersionRE.MatchString(rule.MinVersion) {
				return v.fail(fmt.Sprintf("%q is not a version of dotted numbers (e.g. 6.0.2)", rule.MinVersion), at("min_version")...)
			}
			if rule.Status == StatusForbidden {
				return v.fail("has no effect on a forbidden tool; remove it or approve or restrict the tool", at("min_version")...)
			}
		}
		if err := v.note(rule.Note, at("note")...); err != nil {
			return err
		}
		if err := v.infoURL(rule.InfoURL, at("info_url")...); err != nil {
			return err
		}
		if err := v.alternativeID(rule.Alternative, at("alternative")...); err != nil {
			return err
		}
		if err := v.allowedServers(rule.AllowedServers, at("allowed_servers")...); err != nil {
			return err
		}
		if err := v.allowedAccounts(rule.AllowedAccounts, at("allowed_accounts")...); err != nil {
			return err
		}
		if (len(rule.AllowedServers) > 0 || len(rule.AllowedAccounts) > 0) && rule.Status == StatusForbidden {
			field := "allowed_servers"
			if len(rule.AllowedServers) == 0 {
				field = "allowed_accounts"
			}
			return v.fail("has no effect on a forbidden tool; remove it or approve or restrict the tool", at(field)...)
		}
	}
	return nil
}

func (v validator) rules(rules []Rule, path ...string) error {
	for i, r := range rules {
		at := func(field ...string) []string {
			return append(append(append([]string{}, path...), strconv.Itoa(i)), field...)
		}
		if i > 0 && rules[i-1].When.empty() {
			return v.fail(fmt.Sprintf("is never reached: rule %d before it has no conditions and matches every tool", i-1), at()...)
		}
		w := r.When
		for _, c := range w.factConditions() {
			if c.values == nil {
				continue
			}
			if len(c.values) == 0 {
				return v.fail("lists no value, so it matches no tool; list values or remove it", at("when", c.name)...)
			}
			allowed := (&Facts{}).allowed(c.name)
			for j, val := range c.values {
				if allowed == nil {
					if strings.TrimSpace(val) == "" {
						return v.fail("is empty", at("when", c.name, strconv.Itoa(j))...)
					}
					continue
				}
				if !oneOf(val, allowed) {
					return v.fail(fmt.Sprintf("%q is not one of %s", val, strings.Join(allowed, ", ")), at("when", c.name, strconv.Itoa(j))...)
				}
			}
		}
		if w.Category != "" && !ValidCategory(w.Category) {
			return v.fail(fmt.Sprintf("%q is not one of %s", w.Category, categoryList()), at("when", "category")...)
		}
		if err := v.status(r.Status, true, at("status")...); err != nil {
			return err
		}
		if err := v.note(r.Note, at("note")...); err != nil {
			return err
		}
		if err := v.infoURL(r.InfoURL, at("info_url")...); err != nil {
			return err
		}
		if err := v.alternativeID(r.Alternative, at("alternative")...); err != nil {
			return err
		}
	}
	return nil
}

// note checks a note, naming the language at fault.
func (v validator) note(n Note, path ...string) error {
	return n.validate(func(msg, key string) error {
		at := path
		if key != "" {
			at = append(append([]string{}, path...), key)
		}
		return v.fail(msg, at...)
	})
}

func (v validator) infoURL(s string, path ...string) error {
	if s == "" {
		return nil
	}
	if u, err := url.Parse(s); err != nil || u.Scheme != "https" || u.Host == "" {
		return v.fail(fmt.Sprintf("%q is not an https URL", s), path...)
	}
	return nil
}

func (v validator) alternativeID(id string, path ...string) error {
	if id == "" {
		return nil
	}
	if _, ok := v.cat.App(id); !ok {
		return v.fail(fmt.Sprintf("%q is not an app id of the catalog", id), path...)
	}
	return nil
}

func (v validator) action(a Action, blockOK bool, path ...string) error {
	if a == "" {
		return nil
	}
	if !a.valid() {
		return v.fail(fmt.Sprintf("%q is not one of monitor, warn, block", a), path...)
	}
	if a == ActionBlock && !blockOK {
		return v.fail("block is only allowed for forbidden, unverified and outdated tools and for a wrong server or account; use warn or monitor", path...)
	}
	return nil
}

func (v validator) actions(a Actions, path ...string) error {
	at := func(field string) []string { return append(append([]string{}, path...), field) }
	for _, c := range []struct {
		name    string
		action  Action
		blockOK bool
	}{
		{"forbidden", a.Forbidden, true},
		{"unverified", a.Unverified, true},
		{"outdated", a.Outdated, true},
		{"restricted", a.Restricted, false},
		{"unlisted", a.Unlisted, false},
		{"approved", a.Approved, false},
		{"wrong_server", a.WrongServer, true},
		{"personal_account", a.PersonalAccount, true},
	} {
		if err := v.action(c.action, c.blockOK, at(c.name)...); err != nil {
			return err
		}
	}
	if a.Approved != "" && a.Approved != ActionMonitor {
		return v.fail(fmt.Sprintf("%q: approved tools are only monitored", a.Approved), at("approved")...)
	}
	if err := v.postureActions(a.Posture, at("posture")...); err != nil {
		return err
	}
	if a.BlockGrace != "" {
		d, err := time.ParseDuration(a.BlockGrace)
		if err != nil || d < minBlockGrace || d > maxBlockGrace {
			return v.fail(fmt.Sprintf("%q is not a duration between %s and %s (e.g. 2m, 90s)", a.BlockGrace, minBlockGrace, maxBlockGrace), at("block_grace")...)
		}
	}
	return nil
}

func (v validator) media(m *MediaRules) error {
	if m == nil {
		return nil
	}
	if err := v.action(m.ForbiddenApps, true, "media", "forbidden_apps"); err != nil {
		return err
	}
	if err := v.action(m.UnverifiedApps, true, "media", "unverified_apps"); err != nil {
		return err
	}
	if m.UnknownApps == ActionBlock {
		return v.fail("block is not allowed for apps outside the catalog, which may be anything; use warn or monitor", "media", "unknown_apps")
	}
	if err := v.action(m.UnknownApps, false, "media", "unknown_apps"); err != nil {
		return err
	}
	if m.IdleMinutes < 0 || m.IdleMinutes > maxIdleMinutes {
		return v.fail(fmt.Sprintf("%d is not between 0 (off) and %d minutes", m.IdleMinutes, maxIdleMinutes), "media", "idle_minutes")
	}
	for _, f := range []struct {
		a     Action
		field string
		why   string
	}{
		{m.ScreenShare, "screen_share", "sharing the screen is the employee's own choice"},
		{m.OutputRecording, "output_recording", "the recording process may be anything"},
	} {
		if f.a == ActionBlock {
			return v.fail(fmt.Sprintf("block is not allowed here (%s); use warn or monitor", f.why), "media", f.field)
		}
		if err := v.action(f.a, false, "media", f.field); err != nil {
			return err
		}
	}
	if m.LeftRunningMinutes < 0 || m.LeftRunningMinutes > maxIdleMinutes {
		return v.fail(fmt.Sprintf("%d is not between 0 (off) and %d minutes", m.LeftRunningMinutes, maxIdleMinutes), "media", "left_running_minutes")
	}
	return nil
}

// alternatives checks that every alternative the policy recommends is
// approved or restricted wherever the recommendation applies: one of the
// policy's own in the policy and in every group, one of a group's in that
// group.
func (v validator) alternatives() error {
	p := v.p
	groups := sortedKeys(p.Groups)
	check := func(alt string, views []string, path ...string) error {
		if alt == "" {
			return nil
		}
		for _, g := range views {
			d := p.decide(g, alt)
			if d.status == StatusApproved || d.status == StatusRestricted {
				continue
			}
			msg := fmt.Sprintf("alternative %q is not approved or restricted by this policy", alt)
			if g != "" {
				msg = fmt.Sprintf("alternative %q is not approved or restricted in group %q", alt, g)
			}
			return v.fail(msg, path...)
		}
		return nil
	}
	all := append([]string{""}, groups...)
	for _, id := range sortedKeys(p.Apps) {
		if err := check(p.Apps[id].Alternative, all, "apps", id, "alternative"); err != nil {
			return err
		}
	}
	for i, r := range p.Rules {
		if err := check(r.Alternative, all, "rules", strconv.Itoa(i), "alternative"); err != nil {
			return err
		}
	}
	for _, g := range groups {
		for _, id := range sortedKeys(p.Groups[g].Apps) {
			if err := check(p.Groups[g].Apps[id].Alternative, []string{g}, "groups", g, "apps", id, "alternative"); err != nil {
				return err
			}
		}
		for i, r := range p.Groups[g].Rules {
			if err := check(r.Alternative, []string{g}, "groups", g, "rules", strconv.Itoa(i), "alternative"); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ExamplePolicy returns an example policy shipped in policies/examples by its
// file name without extension (e.g. "eu-default").
func ExamplePolicy(name string) ([]byte, error) {
	data, err := examplesFS.ReadFile("examples/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("example policy %q: %w", name, err)
	}
	return data, nil
}
