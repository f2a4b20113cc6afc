//go:build !darwin

package policydir

// managedPreferencesDirs are watched beside the policy directory; only
// macOS has managed preferences.
var managedPreferencesDirs []string

func managedPreferences() (map[string][]byte, error) { return nil, nil }
