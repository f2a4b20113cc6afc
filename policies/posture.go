package policies

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// PostureKind is one thing the guidance asks of an approved client's own
// settings.
type PostureKind string

const (
	// PostureUpdatesOff: the client's automatic updates are switched off.
	PostureUpdatesOff PostureKind = "updates_off"
	// PostureOutdated: the package manager offers a newer version of the
	// client than the one installed (from its local lists: nothing is
	// fetched).
	PostureOutdated PostureKind = "outdated_package"
	// PostureTelemetryOn: the client sends usage data where the
	// organisation can switch it off.
	PostureTelemetryOn PostureKind = "telemetry_on"
	// PostureSSONotEnforced: the client has a setting that forces sign-in
	// through the organisation's single sign-on, and it is not set.
	PostureSSONotEnforced PostureKind = "sso_not_enforced"
	// PostureAutostart: the client starts at login.
	PostureAutostart PostureKind = "autostart"
	// PostureKeepsRunning: closing the client's window leaves it running.
	PostureKeepsRunning PostureKind = "keeps_running"
	// PostureRecording: a local recording appeared in the client's
	// recording folder while it held the camera or microphone.
	PostureRecording PostureKind = "recording"
)

// PostureKinds are every kind, in the order findings are listed.
var PostureKinds = []PostureKind{
	PostureUpdatesOff, PostureOutdated, PostureTelemetryOn, PostureSSONotEnforced,
	PostureAutostart, PostureKeepsRunning, PostureRecording,
}

// DefaultPostureAction is what the agent does about a posture finding a
// policy says nothing about: record it.
const DefaultPostureAction = ActionMonitor

// Posture file formats.
const (
	FormatINI     = "ini"     // [section] key=value; Key is "section.key" ("key" before any section)
	FormatJSON    = "json"    // Key is a dotted path of object members
	FormatPlist   = "plist"   // a property list (XML or binary); Key is a top-level key; a preference domain's file is read after its managed preferences (agent/posture)
	FormatDesktop = "desktop" // an XDG autostart entry: holds when present and not disabled
	FormatExists  = "exists"  // holds when the file exists
)

var postureFormats = []string{FormatINI, FormatJSON, FormatPlist, FormatDesktop, FormatExists}

// PostureCheck is how the agent tells one posture fact of a client on one
// OS, from local state only. Exactly one of File, Registry and Folder says
// where to look.
type PostureCheck struct {
	Kind PostureKind `yaml:"kind" json:"kind"`
	// OS is linux, darwin or windows.
	OS string `yaml:"os" json:"os"`
	// File is a file of the client or the system: an absolute path, or
	// one under the signed-in person's home ("~/"), or under a Windows
	// known folder (%USERPROFILE%\, %APPDATA%\, %LOCALAPPDATA%\,
	// %PROGRAMDATA%\, %PROGRAMFILES%\, %PROGRAMFILES(X86)%\).
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	// Format is how File is read (ini, json, plist, desktop, exists).
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
	// Registry is a Windows registry key, HKLM\... or HKCU\...; Key is
	// then the value's name.
	Registry string `yaml:"registry,omitempty" json:"registry,omitempty"`
	// Folder is the client's recording folder (recording only): a new
	// file there while a meeting is on is a local recording.
	Folder string `yaml:"folder,omitempty" json:"folder,omitempty"`
	// Key is the setting within File or Registry.
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
	// Values are the setting's values for which the finding holds,
	// compared as text without regard to case ("0", "false").
	Values []string `yaml:"values,omitempty" json:"values,omitempty"`
	// Absent: the finding holds when the setting is not there (a policy
	// key an administrator has not set).
	Absent bool `yaml:"absent,omitempty" json:"absent,omitempty"`
	// Present: the finding holds when the setting is there, whatever its
	// value (an entry in the Windows Run key starts the client at login).
	Present bool `yaml:"present,omitempty" json:"present,omitempty"`
	// Source is the vendor's documentation of the setting.
	Source string `yaml:"source" json:"source"`
	Note   string `yaml:"note,omitempty" json:"note,omitempty"`
}

// Where returns the place the check reads, as a person would name it:
// the file, "HKLM\...\Key" or the folder.
func (c PostureCheck) Where() string {
	switch {
	case c.Registry != "":
		return c.Registry + `\` + c.Key
	case c.Folder != "":
		return c.Folder
	case c.Key != "":
		return c.File + " (" + c.Key + ")"
	}
	return c.File
}

var windowsFolderVars = []string{`%USERPROFILE%\`, `%APPDATA%\`, `%LOCALAPPDATA%\`, `%PROGRAMDATA%\`, `%PROGRAMFILES%\`, `%PROGRAMFILES(X86)%\`}

// validPosturePath accepts the paths a check may name on goos.
func validPosturePath(goos, p string) bool {
	if strings.ContainsRune(p, 0) || strings.Contains(p, "..") {
		return false
	}
	if goos == "windows" {
		up := strings.ToUpper(p)
		for _, v := range windowsFolderVars {
			if strings.HasPrefix(up, v) && len(p) > len(v) {
				return true
			}
		}
		return len(p) > 3 && p[1] == ':' && p[2] == '\\'
	}
	return (strings.HasPrefix(p, "~/") && len(p) > 2) || (strings.HasPrefix(p, "/") && len(p) > 1)
}

func (c PostureCheck) validate(fail func(msg string, field ...string) error, at ...string) error {
	f := func(msg string, field ...string) error { return fail(msg, append(slices.Clone(at), field...)...) }
	if !slices.Contains(PostureKinds, c.Kind) || c.Kind == PostureOutdated {
		return f(fmt.Sprintf("%q is not one of updates_off, telemetry_on, sso_not_enforced, autostart, keeps_running, recording", c.Kind), "kind")
	}
	if !knownOS[c.OS] {
		return f(fmt.Sprintf("%q is not one of linux, darwin, windows", c.OS), "os")
	}
	places := 0
	for _, s := range []string{c.File, c.Registry, c.Folder} {
		if s != "" {
			places++
		}
	}
	if places != 1 {
		return f("needs exactly one of file, registry, folder", "kind")
	}
	switch {
	case c.Folder != "":
		if c.Kind != PostureRecording {
			return f("is only for the recording check", "folder")
		}
		if !validPosturePath(c.OS, c.Folder) {
			return f(fmt.Sprintf("%q is not an absolute path, a path under ~/ or under a Windows known folder", c.Folder), "folder")
		}
	case c.Kind == PostureRecording:
		return f("is required for the recording check", "folder")
	case c.Registry != "":
		if c.OS != "windows" {
			return f("is only for windows", "registry")
		}
		if !(strings.HasPrefix(c.Registry, `HKLM\`) || strings.HasPrefix(c.Registry, `HKCU\`)) || strings.HasSuffix(c.Registry, `\`) || len(c.Registry) < 6 {
			return f(fmt.Sprintf("%q is not a key under HKLM\\ or HKCU\\", c.Registry), "registry")
		}
	default:
		if !validPosturePath(c.OS, c.File) {
			return f(fmt.Sprintf("%q is not an absolute path, a path under ~/ or under a Windows known folder", c.File), "file")
		}
		if !slices.Contains(postureFormats, c.Format) {
			return f(fmt.Sprintf("%q is not one of %s", c.Format, strings.Join(postureFormats, ", ")), "format")
		}
		if c.Format == FormatPlist && c.OS != "darwin" {
			return f("plist files are read on darwin only", "format")
		}
	}
	needsKey := c.Registry != "" || c.Format == FormatINI || c.Format == FormatJSON || c.Format == FormatPlist
	switch {
	case needsKey && strings.TrimSpace(c.Key) == "":
		return f("is required: the setting to read", "key")
	case !needsKey && c.Key != "":
		return f("is not read for this kind of place", "key")
	case c.Present && (len(c.Values) > 0 || c.Absent):
		return f("holds whatever the value: it takes no values and no absent", "present")
	case needsKey && len(c.Values) == 0 && !c.Absent && !c.Present:
		return f("are required (or absent: true, or present: true): when the finding holds", "values")
	case !needsKey && (len(c.Values) > 0 || c.Absent || c.Present):
		return f("are not used for this kind of place", "values")
	}
	if u, err := url.Parse(c.Source); err != nil || u.Scheme != "https" || u.Host == "" {
		return f(fmt.Sprintf("%q is not an https URL", c.Source), "source")
	}
	return nil
}

func validatePosture(checks []PostureCheck, fail func(msg string, field ...string) error) error {
	for i, c := range checks {
		if err := c.validate(fail, "posture", strconv.Itoa(i)); err != nil {
			return err
		}
	}
	return nil
}

// PostureReading is what the agent found for one check of a running app.
type PostureReading struct {
	Kind PostureKind
	// Where is the file, key or folder read (PostureCheck.Where, or the
	// package for outdated_package).
	Where string
	// Detail is what was found there: the value, the new recording's
	// file name, or the installed and offered versions.
	Detail string
}

// PostureFinding is a posture reading the policies in force judge.
type PostureFinding struct {
	AppID  string
	Kind   PostureKind
	Where  string
	Detail string
	Action Action
}

// EvaluatePosture judges what was found of an app's settings under every
// policy in force: each reading is a finding with the strictest action any
// policy gives its kind (actions.posture, the group's first), monitor by
// default. Only a tool the policies let run has a posture to judge: the
// verdict of one forbidden, unlisted, unverified or outdated says all.
func EvaluatePosture(ps []*Policy, group, appID string, verdict Verdict, readings []PostureReading) []PostureFinding {
	if verdict != VerdictApproved && verdict != VerdictRestricted {
		return nil
	}
	var out []PostureFinding
	for _, r := range readings {
		if !slices.Contains(PostureKinds, r.Kind) {
			continue
		}
		a := DefaultPostureAction
		for _, p := range ps {
			if p == nil {
				continue
			}
			if pa := p.postureAction(group, r.Kind); actionRank[pa] > actionRank[a] {
				a = pa
			}
		}
		out = append(out, PostureFinding{AppID: appID, Kind: r.Kind, Where: r.Where, Detail: r.Detail, Action: a})
	}
	sort.SliceStable(out, func(i, j int) bool {
		return slices.Index(PostureKinds, out[i].Kind) < slices.Index(PostureKinds, out[j].Kind)
	})
	return out
}

func (p *Policy) postureAction(group string, k PostureKind) Action {
	if g, ok := p.Groups[group]; ok {
		if a := g.Actions.Posture[k]; a.valid() {
			return a
		}
	}
	if a := p.Actions.Posture[k]; a.valid() {
		return a
	}
	return DefaultPostureAction
}

// postureActions checks actions.posture: known kinds, and monitor or warn
// (a setting is no reason to close a meeting).
func (v validator) postureActions(m map[PostureKind]Action, path ...string) error {
	kinds := make([]string, 0, len(m))
	for k := range m {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		at := append(slices.Clone(path), k)
		if !slices.Contains(PostureKinds, PostureKind(k)) {
			names := make([]string, len(PostureKinds))
			for i, pk := range PostureKinds {
				names[i] = string(pk)
			}
			return v.fail(fmt.Sprintf("%q is not one of %s", k, strings.Join(names, ", ")), at...)
		}
		if err := v.action(m[PostureKind(k)], false, at...); err != nil {
			return err
		}
	}
	return nil
}

// postureWire pairs each posture kind with its value in the wire contract.
var postureWire = map[PostureKind]vcguardv1.PostureKind{
	PostureUpdatesOff:     vcguardv1.PostureKind_POSTURE_KIND_UPDATES_OFF,
	PostureOutdated:       vcguardv1.PostureKind_POSTURE_KIND_OUTDATED_PACKAGE,
	PostureTelemetryOn:    vcguardv1.PostureKind_POSTURE_KIND_TELEMETRY_ON,
	PostureSSONotEnforced: vcguardv1.PostureKind_POSTURE_KIND_SSO_NOT_ENFORCED,
	PostureAutostart:      vcguardv1.PostureKind_POSTURE_KIND_AUTOSTART,
	PostureKeepsRunning:   vcguardv1.PostureKind_POSTURE_KIND_KEEPS_RUNNING,
	PostureRecording:      vcguardv1.PostureKind_POSTURE_KIND_RECORDING,
}

// Proto returns the kind's value in the wire contract,
// POSTURE_KIND_UNSPECIFIED for a string that is no kind.
func (k PostureKind) Proto() vcguardv1.PostureKind { return postureWire[k] }

// PostureKindFromProto returns the kind of a wire value: "" for
// POSTURE_KIND_UNSPECIFIED and values this version does not know.
func PostureKindFromProto(p vcguardv1.PostureKind) PostureKind {
	return fromWire(postureWire, p, "")
}
