package browsersite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Chromium's content settings (components/content_settings/core/common/
// content_settings.h): the decision an exception holds.
const (
	chromiumAllow = 1 // CONTENT_SETTING_ALLOW
	// 2 is CONTENT_SETTING_BLOCK, 3 CONTENT_SETTING_ASK.
)

// The content setting types Chromium stores camera and microphone decisions
// under, in profile.content_settings.exceptions of a profile's Preferences
// (components/content_settings/core/browser/website_settings_registry.cc
// names them "media_stream_camera" and "media_stream_mic").
const (
	chromiumCameraKey = "media_stream_camera"
	chromiumMicKey    = "media_stream_mic"
)

// chromiumPreferences is the part of a profile's Preferences this package
// reads; the decoder skips everything else without keeping it.
type chromiumPreferences struct {
	Profile struct {
		ContentSettings struct {
			Exceptions struct {
				Camera     map[string]chromiumException `json:"media_stream_camera"`
				Microphone map[string]chromiumException `json:"media_stream_mic"`
			} `json:"exceptions"`
		} `json:"content_settings"`
	} `json:"profile"`
}

// chromiumException is one pattern pair's entry. Times are microseconds
// since 1601-01-01 UTC (base::Time's internal value), written as decimal
// strings; recorded from Chromium 156:
//
//	"http://127.0.0.1:34371,*": {"last_modified": "13441021461509865", "last_used": "13441021462609510", "setting": 1}
type chromiumException struct {
	Setting      json.RawMessage `json:"setting"`
	LastModified json.RawMessage `json:"last_modified"`
	LastUsed     json.RawMessage `json:"last_used"`
	Expiration   json.RawMessage `json:"expiration"`
}

// ParseChromiumPreferences returns the camera and microphone decisions in a
// Chromium-family profile's Preferences file (Chrome, Chromium, Edge, Brave,
// Vivaldi, Opera): one Grant per origin and device, allowed or not. Entries
// whose pattern names no single origin or domain ("*", a path pattern) are
// left out, as are entries whose setting is not a number. A file without
// exceptions gives none and no error. Errors say where in the document, not
// which file: the caller knows it.
func ParseChromiumPreferences(data []byte) ([]Grant, error) {
	var p chromiumPreferences
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, jsonErrorAt(err)
	}
	ex := p.Profile.ContentSettings.Exceptions
	var grants []Grant
	for _, kind := range []struct {
		key     string
		entries map[string]chromiumException
		camera  bool
	}{{chromiumCameraKey, ex.Camera, true}, {chromiumMicKey, ex.Microphone, false}} {
		for pattern, e := range kind.entries {
			g, err := chromiumGrant(pattern, e)
			if err != nil {
				return nil, fmt.Errorf("profile.content_settings.exceptions.%s: %w", kind.key, err)
			}
			if g.Host == "" {
				continue
			}
			g.Camera, g.Microphone = kind.camera, !kind.camera
			grants = append(grants, g)
		}
	}
	sortGrants(grants)
	return grants, nil
}

// chromiumGrant decodes one exception. A pattern that names no origin gives
// a zero Grant and no error; a time that is not a number is an error, which
// does not name the origin (errors are logged; the file is private).
func chromiumGrant(pattern string, e chromiumException) (Grant, error) {
	primary, _, _ := strings.Cut(pattern, ",") // "primary,secondary"; the secondary is "*" for media
	g, ok := parseOrigin(primary, true)
	if !ok {
		return Grant{}, nil
	}
	var setting int
	if err := json.Unmarshal(e.Setting, &setting); err != nil {
		return Grant{}, nil // not a decision this package knows
	}
	g.Allowed = setting == chromiumAllow
	var err error
	if g.Modified, err = chromiumTime(e.LastModified); err != nil {
		return Grant{}, fmt.Errorf("an entry's last_modified: %w", err)
	}
	if g.LastUsed, err = chromiumTime(e.LastUsed); err != nil {
		return Grant{}, fmt.Errorf("an entry's last_used: %w", err)
	}
	if g.Expires, err = chromiumTime(e.Expiration); err != nil {
		return Grant{}, fmt.Errorf("an entry's expiration: %w", err)
	}
	return g, nil
}

// windowsEpochOffset is the seconds from 1601-01-01 to 1970-01-01 UTC.
const windowsEpochOffset = 11644473600

// chromiumTime decodes a base::Time value (microseconds since 1601-01-01
// UTC) written as a decimal string or number; absent, null or 0 is the zero
// time.
func chromiumTime(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, errors.New("not a time in microseconds")
		}
	}
	us, err := strconv.ParseInt(s, 10, 64)
	if err != nil || us < 0 {
		// The value is not quoted: errors are logged, the file is private.
		return time.Time{}, errors.New("not a time in microseconds")
	}
	if us == 0 {
		return time.Time{}, nil
	}
	return time.Unix(us/1e6-windowsEpochOffset, (us%1e6)*1e3).UTC(), nil
}

// chromiumLocalState is the part of a user-data directory's "Local State"
// file that lists its profiles: the keys of profile.info_cache are the
// profile directories' names ("Default", "Profile 1"). The values (display
// name, account) are not read.
type chromiumLocalState struct {
	Profile struct {
		InfoCache map[string]json.RawMessage `json:"info_cache"`
	} `json:"profile"`
}

// ParseLocalState returns the profile directory names a Chromium-family
// "Local State" file lists, sorted. A name that is not a single path
// component is an error: the file is the person's to write, and a name such
// as "../x" must not lead the agent elsewhere.
func ParseLocalState(data []byte) ([]string, error) {
	var ls chromiumLocalState
	if err := json.Unmarshal(data, &ls); err != nil {
		return nil, jsonErrorAt(err)
	}
	names := make([]string, 0, len(ls.Profile.InfoCache))
	for name := range ls.Profile.InfoCache {
		if !isDirName(name) {
			return nil, errors.New("profile.info_cache: a profile's key is not a directory name")
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// isDirName reports whether name is one plain path component on every OS.
func isDirName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 255 {
		return false
	}
	if strings.ContainsAny(name, "/\\:\x00") {
		return false
	}
	return strings.TrimRight(name, ". ") != "" // Windows strips trailing dots and spaces
}

// jsonErrorAt says where a JSON document is broken without quoting it:
// encoding/json's messages may hold a character of the document, and a type
// error's field path may hold a map key (an origin).
func jsonErrorAt(err error) error {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Errorf("invalid JSON at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Errorf("field %s at byte %d: a JSON %s where another type belongs", safeField(e.Field), e.Offset, e.Value)
	}
	return errors.New("invalid JSON")
}

// sortGrants orders grants by origin, camera first, for stable output.
func sortGrants(gs []Grant) {
	sort.Slice(gs, func(i, j int) bool {
		if gs[i].Origin != gs[j].Origin {
			return gs[i].Origin < gs[j].Origin
		}
		if gs[i].Camera != gs[j].Camera {
			return gs[i].Camera
		}
		return gs[i].Profile < gs[j].Profile
	})
}

// safeField keeps the fixed leading part of a JSON field path, up to the
// first component that is a map key rather than a field this package
// declares.
func safeField(path string) string {
	known := map[string]bool{"profile": true, "content_settings": true, "exceptions": true,
		chromiumCameraKey: true, chromiumMicKey: true, "info_cache": true}
	parts := strings.Split(path, ".")
	for i, p := range parts {
		if !known[p] {
			return strings.Join(append(parts[:i:i], "…"), ".")
		}
	}
	return path
}
