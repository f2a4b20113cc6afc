package browserpolicy

// FileName is the name of vcguard's file in each Chromium-family
// managed-policy directory.
const FileName = "vcguard.json"

// DefaultTargets are the system-wide policy places on Linux:
//   - Chrome: /etc/opt/chrome/policies/managed
//     (https://support.google.com/chrome/a/answer/9027408);
//   - Chromium: /etc/chromium/policies/managed
//     (https://www.chromium.org/administrators/linux-quick-start/; Debian's
//     chromium 156 has /etc/chromium/policies compiled in);
//   - Edge: /etc/opt/edge/policies/managed (Chrome's layout under Edge's
//     name; Microsoft's policy pages list Windows and macOS only, so this
//     path comes from administrators' guides and is not verified here: no
//     Edge on the test machine);
//   - Brave: /etc/brave/policies/managed
//     (https://support.brave.app/hc/en-us/articles/360039248271-Group-Policy,
//     as administrators' guides quote it; no Brave on the test machine);
//   - Firefox: /etc/firefox/policies/policies.json
//     (https://mozilla.github.io/policy-templates/, introduction: "system-wide
//     policy by placing the file in /etc/firefox/policies"). Debian's
//     firefox-esr reads this same path, not /etc/firefox-esr/policies:
//     proven with firefox-esr 153.8.0esr in this package's Firefox test.
func DefaultTargets() []Target {
	return []Target{
		{Name: "chrome", Format: ChromiumFile, Path: "/etc/opt/chrome/policies/managed/" + FileName},
		{Name: "chromium", Format: ChromiumFile, Path: "/etc/chromium/policies/managed/" + FileName},
		{Name: "edge", Format: ChromiumFile, Path: "/etc/opt/edge/policies/managed/" + FileName},
		{Name: "brave", Format: ChromiumFile, Path: "/etc/brave/policies/managed/" + FileName},
		{Name: "firefox", Format: FirefoxFile, Path: "/etc/firefox/policies/policies.json"},
	}
}
