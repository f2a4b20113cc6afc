package policydir

import (
	"errors"
	"io/fs"
	"os"
)

// managedPreferencesDirs are watched beside the policy directory.
var managedPreferencesDirs = []string{"/Library/Managed Preferences"}

// managedPreferences reads the documents an MDM profile delivered for
// ManagedPreferencesDomain; none when no profile is installed.
func managedPreferences() (map[string][]byte, error) {
	data, err := os.ReadFile("/Library/Managed Preferences/" + ManagedPreferencesDomain + ".plist")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseManagedPreferences(data)
}
