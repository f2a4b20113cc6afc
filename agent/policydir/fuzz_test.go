package policydir

import "testing"

// Managed preferences come from an MDM profile: never panic, and whatever
// parses yields documents the policy parser then judges.
func FuzzParseManagedPreferences(f *testing.F) {
	f.Add([]byte(`<plist version="1.0"><dict><key>Policies</key><dict><key>a</key><string>name: x</string></dict></dict></plist>`))
	f.Add([]byte("bplist00"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := parseManagedPreferences(data)
		if err != nil && docs != nil {
			t.Fatalf("documents %v with error %v", docs, err)
		}
	})
}
