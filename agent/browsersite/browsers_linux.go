package browsersite

// browserDirs lists, per catalog browser, where each of its installs keeps
// its user data on Linux, relative to the home directory: the XDG config
// directory for packages and tarballs, and the per-app directories of the
// snap and flatpak builds.
var browserDirs = map[string][]browserDir{
	"chrome": {
		{chromiumFamily, ".config/google-chrome"},
		{chromiumFamily, ".config/google-chrome-beta"},
		{chromiumFamily, ".config/google-chrome-unstable"},
		{chromiumFamily, ".var/app/com.google.Chrome/config/google-chrome"},
	},
	"chromium": {
		{chromiumFamily, ".config/chromium"},
		{chromiumFamily, "snap/chromium/common/chromium"},
		{chromiumFamily, ".var/app/org.chromium.Chromium/config/chromium"},
	},
	"microsoft-edge": {
		{chromiumFamily, ".config/microsoft-edge"},
		{chromiumFamily, ".config/microsoft-edge-beta"},
		{chromiumFamily, ".config/microsoft-edge-dev"},
		{chromiumFamily, ".var/app/com.microsoft.Edge/config/microsoft-edge"},
	},
	"brave": {
		{chromiumFamily, ".config/BraveSoftware/Brave-Browser"},
		{chromiumFamily, "snap/brave/current/.config/BraveSoftware/Brave-Browser"},
		{chromiumFamily, ".var/app/com.brave.Browser/config/BraveSoftware/Brave-Browser"},
	},
	"vivaldi": {
		{chromiumFamily, ".config/vivaldi"},
		{chromiumFamily, ".config/vivaldi-snapshot"},
		{chromiumFamily, ".var/app/com.vivaldi.Vivaldi/config/vivaldi"},
	},
	"opera": {
		{chromiumFamily, ".config/opera"},
		{chromiumFamily, ".config/opera-beta"},
		{chromiumFamily, ".config/opera-developer"},
		{chromiumFamily, "snap/opera/current/.config/opera"},
	},
	"firefox": {
		{firefoxFamily, ".mozilla/firefox"},
		// Newer Firefox releases may keep new profiles in the XDG config
		// directory.
		{firefoxFamily, ".config/mozilla/firefox"},
		{firefoxFamily, "snap/firefox/common/.mozilla/firefox"},
		{firefoxFamily, ".var/app/org.mozilla.firefox/.mozilla/firefox"},
	},
}
