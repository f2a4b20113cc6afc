package policydir

import (
	"fmt"
	"slices"

	"howett.net/plist"
)

// ManagedPreferencesDomain is the macOS preference domain an MDM profile
// sets for vcguard; its key Policies maps a name to a policy document.
const ManagedPreferencesDomain = "eu.vcguard.agent"

// parseManagedPreferences reads the Policies dictionary of a managed
// preferences plist (XML or binary): name → policy document (YAML or
// JSON text).
func parseManagedPreferences(data []byte) (map[string][]byte, error) {
	var prefs struct {
		Policies map[string]string `plist:"Policies"`
	}
	if _, err := plist.Unmarshal(data, &prefs); err != nil {
		return nil, fmt.Errorf("managed preferences %s: %w", ManagedPreferencesDomain, err)
	}
	out := make(map[string][]byte, len(prefs.Policies))
	keys := make([]string, 0, len(prefs.Policies))
	for k := range prefs.Policies {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out[k] = []byte(prefs.Policies[k])
	}
	return out, nil
}
