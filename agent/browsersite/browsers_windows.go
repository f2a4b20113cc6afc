package browsersite

// browserDirs lists, per catalog browser, where it keeps its user data on
// Windows, relative to the profile directory (C:\Users\<name>): the default
// %LOCALAPPDATA% (AppData/Local) and %APPDATA% (AppData/Roaming). A profile
// whose AppData is redirected elsewhere is not found.
var browserDirs = map[string][]browserDir{
	"chrome":         {{chromiumFamily, "AppData/Local/Google/Chrome/User Data"}},
	"chromium":       {{chromiumFamily, "AppData/Local/Chromium/User Data"}},
	"microsoft-edge": {{chromiumFamily, "AppData/Local/Microsoft/Edge/User Data"}},
	"brave":          {{chromiumFamily, "AppData/Local/BraveSoftware/Brave-Browser/User Data"}},
	"vivaldi":        {{chromiumFamily, "AppData/Local/Vivaldi/User Data"}},
	"opera":          {{chromiumFamily, "AppData/Roaming/Opera Software/Opera Stable"}},
	"firefox":        {{firefoxFamily, "AppData/Roaming/Mozilla/Firefox"}},
}
