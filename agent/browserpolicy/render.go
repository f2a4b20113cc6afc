package browserpolicy

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Policy names of the Chromium family (Chrome, Chromium, Edge, Brave share
// them; Edge and Brave document the same names and types):
//   - VideoCaptureAllowed, AudioCaptureAllowed (boolean): false turns the
//     prompt off and leaves the device to the URLs of the *AllowedUrls list;
//     https://chromeenterprise.google/policies/#VideoCaptureAllowed
//     https://chromeenterprise.google/policies/#AudioCaptureAllowed
//     https://learn.microsoft.com/deployedge/microsoft-edge-policies/audiocaptureallowed
//     (Edge: same name, boolean, REG_DWORD under SOFTWARE\Policies\Microsoft\Edge)
//   - VideoCaptureAllowedUrls, AudioCaptureAllowedUrls (list of URL
//     patterns, matched against the requesting security origin; "*" is not
//     supported): https://chromeenterprise.google/policies/#VideoCaptureAllowedUrls,
//     pattern syntax https://chromeenterprise.google/policies/url-patterns/
//     ("https://host:port" is a valid pattern);
//   - ScreenCaptureAllowed (boolean, Chrome 81+): false makes every
//     screen-share API call fail unless a *CaptureAllowedByOrigins policy
//     matches (vcguard sets none);
//     https://chromeenterprise.google/policies/#ScreenCaptureAllowed,
//     https://learn.microsoft.com/deployedge/microsoft-edge-policies/screencaptureallowed
//
// Source of the types and supported versions: Chromium's policy
// definitions, components/policy/resources/templates/policy_definitions/
// {Miscellaneous,ScreenCapture}/*.yaml.
const (
	polVideoAllowed  = "VideoCaptureAllowed"
	polVideoURLs     = "VideoCaptureAllowedUrls"
	polAudioAllowed  = "AudioCaptureAllowed"
	polAudioURLs     = "AudioCaptureAllowedUrls"
	polScreenAllowed = "ScreenCaptureAllowed"
)

// chromiumJSON is the file vcguard writes into a Chromium managed-policy
// directory: a JSON object of policy name to value.
func chromiumJSON(s Spec) []byte {
	p := map[string]any{
		polVideoAllowed: false,
		polVideoURLs:    chromiumURLs(s),
		polAudioAllowed: false,
		polAudioURLs:    chromiumURLs(s),
	}
	if s.BlockScreenCapture {
		p[polScreenAllowed] = false
	}
	return marshal(p)
}

// firefoxPermission is one entry of Firefox's Permissions policy
// (https://mozilla.github.io/policy-templates/#permissions): Allow lists
// origins that get the permission without asking; BlockNewRequests sets
// permissions.default.<type> to 2 (deny), so every other origin is refused
// without a prompt; Locked keeps the user from changing either.
type firefoxPermission struct {
	Allow            []string `json:"Allow,omitempty" plist:"Allow,omitempty"`
	BlockNewRequests bool     `json:"BlockNewRequests" plist:"BlockNewRequests"`
	Locked           bool     `json:"Locked" plist:"Locked"`
}

// firefoxPermissions is the Permissions policy vcguard sets. ScreenShare
// exists from Firefox 142 and ESR 140.2 (policy-templates docs/index.md,
// Permissions, Compatibility); it is set only when screen capture is
// blocked, because a Firefox that does not know it rejects the whole
// Permissions policy (its schema allows no unknown properties), camera and
// microphone included.
type firefoxPermissions struct {
	Camera      firefoxPermission  `json:"Camera" plist:"Camera"`
	Microphone  firefoxPermission  `json:"Microphone" plist:"Microphone"`
	ScreenShare *firefoxPermission `json:"ScreenShare,omitempty" plist:"ScreenShare,omitempty"`
}

// chromiumURLs are the origins and, for each allowed domain, the URL
// pattern of the domain and its subdomains over https.
func chromiumURLs(s Spec) []string {
	out := append([]string{}, s.AllowedOrigins...)
	for _, d := range s.AllowedDomains {
		out = append(out, "https://[*.]"+d)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// firefoxOrigins are the origins and each allowed domain's own https
// origin (Firefox takes no wildcard).
func firefoxOrigins(s Spec) []string {
	out := append([]string{}, s.AllowedOrigins...)
	for _, d := range s.AllowedDomains {
		out = append(out, "https://"+d)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

func firefoxPerms(s Spec) firefoxPermissions {
	media := firefoxPermission{Allow: firefoxOrigins(s), BlockNewRequests: true, Locked: true}
	p := firefoxPermissions{Camera: media, Microphone: media}
	if s.BlockScreenCapture {
		p.ScreenShare = &firefoxPermission{BlockNewRequests: true, Locked: true}
	}
	return p
}

// firefoxJSON is the whole policies.json vcguard writes when the file is
// its own.
func firefoxJSON(s Spec) []byte {
	return marshal(map[string]any{"policies": map[string]any{"Permissions": firefoxPerms(s)}})
}

// firefoxByHand is what IT adds to a policies.json vcguard may not touch.
func firefoxByHand(s Spec) string {
	b, _ := json.Marshal(map[string]any{"Permissions": firefoxPerms(s)})
	return string(b)
}

func marshal(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic("browserpolicy: marshal policy: " + err.Error()) // only strings, bools, slices and maps
	}
	return append(b, '\n')
}

// A registry value as vcguard writes and compares it. The encoded form
// ("dword:0", "sz:https://...") is what the manifest's hash covers, on
// every OS, so the registry rendering is tested on Linux.
type regValue struct {
	// path is the value's key relative to the target's key, "" for the
	// target's key itself, with backslashes.
	key, name string
	dword     uint32
	sz        string
	isSZ      bool
}

func (v regValue) encode() []byte {
	if v.isSZ {
		return []byte("sz:" + v.sz)
	}
	return []byte("dword:" + strconv.FormatUint(uint64(v.dword), 10))
}

func (v regValue) rel() string {
	if v.key == "" {
		return v.name
	}
	return v.key + `\` + v.name
}

// regList is a list policy as Windows Group Policy stores it: a subkey named
// after the policy whose values "1", "2", ... hold the entries (REG_SZ).
// https://chromeenterprise.google/policies/#VideoCaptureAllowedUrls
// ("Windows registry location"), and Mozilla's
// Software\Policies\Mozilla\Firefox\Permissions\Camera\Allow\1.
func regList(key string, items []string) []regValue {
	out := make([]regValue, 0, len(items))
	for i, it := range items {
		out = append(out, regValue{key: key, name: strconv.Itoa(i + 1), sz: it, isSZ: true})
	}
	return out
}

// chromiumRegistry is the Chromium policies under a browser's key, e.g.
// HKLM\SOFTWARE\Policies\Google\Chrome: booleans as REG_DWORD 0/1, lists
// as subkeys. Lists come first, so that a browser reading the key while
// vcguard writes it never sees the device forbidden without its list.
func chromiumRegistry(s Spec) []regValue {
	var out []regValue
	out = append(out, regList(polVideoURLs, chromiumURLs(s))...)
	out = append(out, regList(polAudioURLs, chromiumURLs(s))...)
	out = append(out,
		regValue{name: polVideoAllowed, dword: 0},
		regValue{name: polAudioAllowed, dword: 0})
	if s.BlockScreenCapture {
		out = append(out, regValue{name: polScreenAllowed, dword: 0})
	}
	return out
}

// firefoxRegistry is the Permissions policy under
// HKLM\SOFTWARE\Policies\Mozilla\Firefox as Mozilla's ADMX templates write
// it (policy-templates docs/index.md, Permissions, "Windows (GPO)"):
// Permissions\Camera\Allow\1 = "https://...",
// Permissions\Camera\BlockNewRequests = 1, Permissions\Camera\Locked = 1.
func firefoxRegistry(s Spec) []regValue {
	var out []regValue
	perm := func(name string, allow []string) {
		key := `Permissions\` + name
		out = append(out, regList(key+`\Allow`, allow)...)
		out = append(out,
			regValue{key: key, name: "BlockNewRequests", dword: 1},
			regValue{key: key, name: "Locked", dword: 1})
	}
	perm("Camera", firefoxOrigins(s))
	perm("Microphone", firefoxOrigins(s))
	if s.BlockScreenCapture {
		perm("ScreenShare", nil)
	}
	return out
}

// regByHand lists values for IT to set by hand, one per line.
func regByHand(root string, vals []regValue) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(root + `\` + v.rel() + " = ")
		if v.isSZ {
			b.WriteString(strconv.Quote(v.sz))
		} else {
			b.WriteString("dword:" + strconv.FormatUint(uint64(v.dword), 10))
		}
	}
	return b.String()
}
