package browserpolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
)

// Format says how a target holds a browser's policies.
type Format string

// The formats.
const (
	// ChromiumFile is a JSON file of vcguard's own in a Chromium-family
	// managed-policy directory (Linux): the browser merges every file of
	// the directory, so vcguard writes one of its own and never touches
	// the others.
	ChromiumFile Format = "chromium-file"
	// FirefoxFile is Firefox's single system-wide policies.json (Linux).
	// It is shared: vcguard writes it only when it is absent or vcguard's
	// own, and otherwise tells IT what to add.
	FirefoxFile Format = "firefox-file"
	// ChromiumRegistry is a Chromium-family browser's policy key under
	// HKLM (Windows), e.g. SOFTWARE\Policies\Google\Chrome. Shared with
	// Group Policy: vcguard writes only values that are absent or its own.
	ChromiumRegistry Format = "chromium-registry"
	// FirefoxRegistry is Firefox's policy key under HKLM (Windows),
	// SOFTWARE\Policies\Mozilla\Firefox. Shared like ChromiumRegistry.
	FirefoxRegistry Format = "firefox-registry"
	// ManagedPreferences is a macOS preference domain (Path), which only
	// a configuration profile can manage: Apply writes nothing and reports
	// the target skipped; Mobileconfig builds the profile.
	ManagedPreferences Format = "managed-preferences"
)

func (f Format) valid() bool {
	switch f {
	case ChromiumFile, FirefoxFile, ChromiumRegistry, FirefoxRegistry, ManagedPreferences:
		return true
	}
	return false
}

func (f Format) registry() bool { return f == ChromiumRegistry || f == FirefoxRegistry }

// shared reports whether the place may hold policies of others, so that a
// change made by someone else makes it theirs: vcguard then leaves it
// alone. A file of vcguard's own that someone changed is rewritten.
func (f Format) shared() bool { return f != ChromiumFile }

// Target is one browser's managed-policy place.
type Target struct {
	// Name names the target in the manifest, reports and logs ("chrome",
	// "firefox"): lower-case letters, digits and hyphens, unique.
	Name string
	// Format is how the target holds the policies.
	Format Format
	// Path is the file for the file formats, the key under
	// HKEY_LOCAL_MACHINE for the registry formats (backslashes, e.g.
	// SOFTWARE\Policies\Google\Chrome), and the preference domain for
	// ManagedPreferences.
	Path string
}

func (t Target) String() string { return t.Name + " (" + t.where() + ")" }

func (t Target) where() string {
	if t.Format.registry() {
		return `HKLM\` + t.Path
	}
	return t.Path
}

func checkName(n string) error {
	if n == "" || len(n) > 32 {
		return fmt.Errorf("target name %q: want 1-32 characters", n)
	}
	for _, c := range []byte(n) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("target name %q: want lower-case letters, digits and hyphens", n)
		}
	}
	return nil
}

func (t Target) validate() error {
	if err := checkName(t.Name); err != nil {
		return err
	}
	if !t.Format.valid() {
		return fmt.Errorf("target %s: unknown format %q", t.Name, t.Format)
	}
	switch {
	case t.Format == ManagedPreferences:
		if t.Path == "" || strings.ContainsAny(t.Path, "/\\ \x00") {
			return fmt.Errorf("target %s: preference domain %q, want e.g. com.google.Chrome", t.Name, t.Path)
		}
	case t.Format.registry():
		if err := checkRecordedPath(t.Format, t.Path); err != nil {
			return fmt.Errorf("target %s: %w", t.Name, err)
		}
	default:
		if err := checkRecordedPath(t.Format, t.Path); err != nil {
			return fmt.Errorf("target %s: %w", t.Name, err)
		}
		if filepath.Ext(t.Path) != ".json" {
			return fmt.Errorf("target %s: %s: want a .json file (browsers read policies from JSON files)", t.Name, t.Path)
		}
	}
	return nil
}

// entry is one file or registry value a target holds, with the bytes
// vcguard writes (a registry value in regValue's encoded form).
type entry struct {
	path    string
	content []byte
	reg     *regValue // for the registry formats
}

// entries is what target t must hold for spec s.
func (t Target) entries(s Spec) []entry {
	switch t.Format {
	case ChromiumFile:
		return []entry{{path: t.Path, content: chromiumJSON(s)}}
	case FirefoxFile:
		return []entry{{path: t.Path, content: firefoxJSON(s)}}
	case ChromiumRegistry, FirefoxRegistry:
		vals := chromiumRegistry(s)
		if t.Format == FirefoxRegistry {
			vals = firefoxRegistry(s)
		}
		out := make([]entry, len(vals))
		for i, v := range vals {
			v := v
			out[i] = entry{path: t.Path + `\` + v.rel(), content: v.encode(), reg: &v}
		}
		return out
	}
	return nil
}

// byHand says what IT sets by hand where vcguard may not write.
func (t Target) byHand(s Spec) string {
	switch t.Format {
	case FirefoxFile:
		return "add to the \"policies\" object of " + t.Path + ": " + firefoxByHand(s)
	case ChromiumFile:
		var b bytes.Buffer
		_ = json.Compact(&b, chromiumJSON(s))
		return "put " + b.String() + " into a file of the directory " + filepath.Dir(t.Path)
	case ChromiumRegistry:
		return "set " + regByHand(`HKLM\`+t.Path, chromiumRegistry(s))
	case FirefoxRegistry:
		return "set " + regByHand(`HKLM\`+t.Path, firefoxRegistry(s))
	}
	return ""
}
