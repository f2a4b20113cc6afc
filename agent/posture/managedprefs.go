package posture

// Managed preferences (macOS). A configuration profile's settings for an
// app's preference domain are kept by macOS in
//
//	/Library/Managed Preferences/<domain>.plist         (computer level)
//	/Library/Managed Preferences/<user>/<domain>.plist  (user level)
//
// and an app that reads its settings through CFPreferences (NSUserDefaults)
// is given these forced values over those in ~/Library/Preferences and
// /Library/Preferences. So a check of /Library/Preferences/<domain>.plist
// or ~/Library/Preferences/<domain>.plist reads, key by key, the user-level
// managed file first, then the computer-level one, then the file the
// catalog names. Sources:
//
//   - Chromium, "Mac Quick Start" for administrators
//     (https://www.chromium.org/administrators/mac-quick-start/, read in
//     the site's source): mandatory (forced) policy is stored in
//     /Library/Managed Preferences/<username>/com.google.Chrome.plist,
//     recommended policy in /Library/Preferences/com.google.Chrome.plist.
//   - Munki, code/client/munkilib/prefs.py at 0330b38a
//     (https://github.com/munki/munki/blob/0330b38a43c37e4687c3c4b9d788b251e56d41a8/code/client/munkilib/prefs.py):
//     CFPreferencesCopyAppValue's precedence is "Managed Preferences (MCX
//     or Configuration Profile)", then ~/Library/Preferences/ByHost, then
//     ~/Library/Preferences, then /Library/Preferences.
//   - Apple, Mac OS X Server Administrator's Guide (the managed client of
//     Workgroup Manager), "How Preference Management Works" and "Always
//     Managing a Preference", pp. 284-285
//     (https://www.manualsdir.com/manuals/44541/apple-mac-os-x-server-administrators-guide-mac-os-x.html?page=284):
//     user settings override group settings, which override computer
//     settings; forced ("always") preferences are kept in
//     /Library/Managed Preferences.
//
// Apple's page on the profile payload
// (https://developer.apple.com/documentation/devicemanagement/managedpreferences)
// gives it the device and the user channel; the part read says nothing of a
// key forced on both, so the user level is read first here as in the
// managed client model above.
//
// A managed file that is there but cannot be read (not owned by root, a
// symbolic link, larger than the bound) or parsed is an error naming it,
// and nothing is judged from the files below it: what the profile forces
// cannot be known, and the local file may say the opposite.

import (
	"fmt"
	"path"
	"strings"
)

// managedPrefsDir is where macOS keeps the preferences configuration
// profiles force.
const managedPrefsDir = "/Library/Managed Preferences"

// prefSource is one file a plist check may be answered from.
type prefSource struct {
	// catalog is the file as the catalog names it ("~/..." for the home),
	// and where is how a reading names it: the catalog's path, or the
	// managed file with "<user>" for the account (readings name the home
	// "~" and never the person's name).
	catalog, where string
	// managed: the file is a configuration profile's.
	managed bool
}

// preferenceDomain returns the domain of a darwin catalog path that names
// a preference domain's own plist: /Library/Preferences/<domain>.plist,
// ~/Library/Preferences/<domain>.plist or /Library/Managed
// Preferences/<domain>.plist (not a subfolder such as ByHost).
func preferenceDomain(p string) (string, bool) {
	for _, dir := range []string{"/Library/Preferences/", "~/Library/Preferences/", managedPrefsDir + "/"} {
		rest, ok := strings.CutPrefix(p, dir)
		if !ok {
			continue
		}
		domain, ok := strings.CutSuffix(rest, ".plist")
		if !ok || domain == "" || strings.ContainsAny(domain, "/\x00") || strings.Contains(domain, "..") {
			return "", false
		}
		return domain, true
	}
	return "", false
}

// validAccountName reports whether name can be a folder of
// /Library/Managed Preferences: not empty, no slash, not a dot folder.
func validAccountName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// preferenceSources returns the files a darwin plist check of the catalog
// path p is answered from, in the order a forced value is looked for: the
// user-level managed file of account user (when user is a valid name),
// the computer-level managed file, then p itself (p once: a check that
// names the computer-level managed file gets only the user-level one
// before it). A path that names no preference domain gives p alone. It is
// pure, so it is tested everywhere.
func preferenceSources(p, user string) []prefSource {
	own := prefSource{catalog: p, where: p}
	domain, ok := preferenceDomain(p)
	if !ok {
		return []prefSource{own}
	}
	file := domain + ".plist"
	var out []prefSource
	if validAccountName(user) {
		out = append(out, prefSource{
			catalog: path.Join(managedPrefsDir, user, file),
			where:   path.Join(managedPrefsDir, "<user>", file),
			managed: true,
		})
	}
	computer := path.Join(managedPrefsDir, file)
	if p == computer {
		own.managed = true
		return append(out, own)
	}
	return append(out, prefSource{catalog: computer, where: computer, managed: true}, own)
}

// resolvePlist looks key up in sources in order and returns the value of
// the first file that has it, and that file. read returns a file's bytes,
// or an error matching fs.ErrNotExist when it is not there (the next is
// read). found is false when no file has the key. An error reading or
// parsing a file ends the look-up: a managed file's error says what that
// means; errors never quote a file.
func resolvePlist(sources []prefSource, key string, read func(prefSource) ([]byte, string, error)) (value string, found bool, from prefSource, err error) {
	for _, s := range sources {
		data, name, err := read(s)
		if notExist(err) {
			continue
		}
		if err == nil {
			value, found, err = plistLookup(data, key)
			if err != nil {
				err = fmt.Errorf("%s: %w", name, err)
			}
		}
		if err != nil {
			if s.managed {
				err = fmt.Errorf("managed preferences: %w (what a configuration profile forces cannot be known, so the files below it are not judged)", err)
			}
			return "", false, prefSource{}, err
		}
		if found {
			return value, true, s, nil
		}
	}
	return "", false, prefSource{}, nil
}
