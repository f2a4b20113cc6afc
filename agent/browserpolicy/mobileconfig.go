package browserpolicy

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"howett.net/plist"
)

// profileDomains are the browsers' preference domains on macOS:
//   - com.google.Chrome: https://support.google.com/chrome/a/answer/9020077
//   - org.chromium.Chromium: Chromium's mac_bundle_id in
//     https://chromeenterprise.google/policies/ ("Mac/Linux preference name")
//   - com.microsoft.Edge: https://learn.microsoft.com/en-us/deployedge/configure-microsoft-edge-on-mac
//   - com.brave.Browser: https://support.brave.app/hc/en-us/articles/360039248271-Group-Policy
//   - org.mozilla.firefox: https://github.com/mozilla/policy-templates/tree/master/mac
//     (EnterprisePoliciesEnabled must be true for Firefox to read any).
var profileDomains = []struct{ name, domain string }{
	{"chrome", "com.google.Chrome"},
	{"chromium", "org.chromium.Chromium"},
	{"edge", "com.microsoft.Edge"},
	{"brave", "com.brave.Browser"},
	{"firefox", "org.mozilla.firefox"},
}

// Mobileconfig returns a configuration profile (XML property list) that
// makes the browsers on macOS enforce spec: one
// com.apple.ManagedClient.preferences payload per browser domain, with the
// policies as Forced mcx_preference_settings, the way
// installer/mobileconfig builds vcguard's own profile. macOS writes them to
// /Library/Managed Preferences/<domain>.plist, where the browsers read
// their mandatory policies. identifier is the profile's PayloadIdentifier
// (reverse DNS, e.g. "eu.vcguard.browsers"); the payloads' identifiers
// extend it. PayloadUUIDs derive from the identifier and the content, so
// the same spec gives the same file and a changed spec new UUIDs. The
// profile is not signed: MDMs sign what they deliver.
func Mobileconfig(spec Spec, identifier string) ([]byte, error) {
	s, err := spec.normalize()
	if err != nil {
		return nil, fmt.Errorf("browser policy profile: %w", err)
	}
	if err := checkIdentifier(identifier); err != nil {
		return nil, fmt.Errorf("browser policy profile: %w", err)
	}
	chromium := map[string]any{
		polVideoAllowed: false,
		polVideoURLs:    chromiumURLs(s),
		polAudioAllowed: false,
		polAudioURLs:    chromiumURLs(s),
	}
	if s.BlockScreenCapture {
		chromium[polScreenAllowed] = false
	}
	// The content's hash goes into every UUID: MDMs and macOS tell
	// versions of a profile apart by them.
	version := sum(chromiumJSON(s))[:16]
	var payloads []any
	for _, d := range profileDomains {
		settings := chromium
		if d.name == "firefox" {
			settings = map[string]any{
				"EnterprisePoliciesEnabled": true,
				"Permissions":               firefoxPerms(s),
			}
		}
		id := identifier + "." + d.name
		payloads = append(payloads, map[string]any{
			"PayloadType":        "com.apple.ManagedClient.preferences",
			"PayloadVersion":     1,
			"PayloadIdentifier":  id,
			"PayloadUUID":        nameUUID(version + "/" + id),
			"PayloadDisplayName": "vcguard browser policy: " + d.domain,
			"PayloadContent": map[string]any{
				d.domain: map[string]any{
					"Forced": []any{map[string]any{"mcx_preference_settings": settings}},
				},
			},
		})
	}
	desc := "Camera and microphone only for the organisation's approved videoconferencing origins"
	if s.BlockScreenCapture {
		desc += "; no screen sharing"
	}
	profile := map[string]any{
		"PayloadType":              "Configuration",
		"PayloadVersion":           1,
		"PayloadIdentifier":        identifier,
		"PayloadUUID":              nameUUID(version + "/" + identifier),
		"PayloadDisplayName":       "vcguard browser policy",
		"PayloadDescription":       desc + " (Chrome, Chromium, Edge, Brave, Firefox).",
		"PayloadScope":             "System",
		"PayloadRemovalDisallowed": true,
		"PayloadContent":           payloads,
	}
	var buf bytes.Buffer
	enc := plist.NewEncoderForFormat(&buf, plist.XMLFormat)
	enc.Indent("\t")
	if err := enc.Encode(profile); err != nil {
		return nil, fmt.Errorf("browser policy profile: encode: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func checkIdentifier(id string) error {
	if id == "" || len(id) > 255 || strings.HasPrefix(id, ".") || strings.HasSuffix(id, ".") || strings.Contains(id, "..") {
		return fmt.Errorf("profile identifier %q: want reverse DNS, e.g. eu.vcguard.browsers", id)
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("profile identifier %q: want letters, digits, dots and hyphens", id)
		}
	}
	return nil
}

// nameUUID is a name-based (version 5, SHA-1) UUID of name in vcguard's
// browser-profile namespace, upper-case as profiles write them.
func nameUUID(name string) string {
	// A fixed namespace for vcguard's browser profiles (random, chosen once).
	ns := uuid.UUID{0x8e, 0x2d, 0x41, 0x6a, 0xc3, 0x07, 0x4f, 0x95, 0xb1, 0x5c, 0x2e, 0x90, 0x7d, 0x64, 0x1a, 0xf3}
	return strings.ToUpper(uuid.NewSHA1(ns, []byte(name)).String())
}
