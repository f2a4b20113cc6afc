package browserpolicy

// DefaultTargets are the browsers' preference domains on macOS. Only a
// configuration profile can manage them (/Library/Managed Preferences is
// written by macOS from installed profiles), so Apply reports them
// skipped and Mobileconfig builds the profile for MDM.
func DefaultTargets() []Target {
	out := make([]Target, 0, len(profileDomains))
	for _, d := range profileDomains {
		out = append(out, Target{Name: d.name, Format: ManagedPreferences, Path: d.domain})
	}
	return out
}
