package browserpolicy

// DefaultTargets are the machine policy keys under HKEY_LOCAL_MACHINE on
// Windows:
//   - Chrome: SOFTWARE\Policies\Google\Chrome and Chromium:
//     SOFTWARE\Policies\Chromium (https://chromeenterprise.google/policies/,
//     "Windows registry location");
//   - Edge: SOFTWARE\Policies\Microsoft\Edge
//     (https://learn.microsoft.com/en-us/deployedge/microsoft-edge-policies/videocaptureallowed,
//     "Registry settings");
//   - Brave: SOFTWARE\Policies\BraveSoftware\Brave
//     (https://support.brave.app/hc/en-us/articles/360039248271-Group-Policy);
//   - Firefox: SOFTWARE\Policies\Mozilla\Firefox
//     (https://mozilla.github.io/policy-templates/#permissions, "Windows (GPO)").
func DefaultTargets() []Target {
	return []Target{
		{Name: "chrome", Format: ChromiumRegistry, Path: `SOFTWARE\Policies\Google\Chrome`},
		{Name: "chromium", Format: ChromiumRegistry, Path: `SOFTWARE\Policies\Chromium`},
		{Name: "edge", Format: ChromiumRegistry, Path: `SOFTWARE\Policies\Microsoft\Edge`},
		{Name: "brave", Format: ChromiumRegistry, Path: `SOFTWARE\Policies\BraveSoftware\Brave`},
		{Name: "firefox", Format: FirefoxRegistry, Path: `SOFTWARE\Policies\Mozilla\Firefox`},
	}
}
