package browsersite

// browserDirs lists, per catalog browser, where it keeps its user data on
// macOS, relative to the home directory. Safari keeps its per-site camera
// and microphone decisions elsewhere (~/Library/Safari, protected by TCC)
// and is not read.
var browserDirs = map[string][]browserDir{
	"chrome":         {{chromiumFamily, "Library/Application Support/Google/Chrome"}},
	"chromium":       {{chromiumFamily, "Library/Application Support/Chromium"}},
	"microsoft-edge": {{chromiumFamily, "Library/Application Support/Microsoft Edge"}},
	"brave":          {{chromiumFamily, "Library/Application Support/BraveSoftware/Brave-Browser"}},
	"vivaldi":        {{chromiumFamily, "Library/Application Support/Vivaldi"}},
	"opera":          {{chromiumFamily, "Library/Application Support/com.operasoftware.Opera"}},
	"firefox":        {{firefoxFamily, "Library/Application Support/Firefox"}},
}
