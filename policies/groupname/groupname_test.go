package groupname

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for name, want := range map[string]bool{
		"radiology": true, "ward-7": true, "7th-floor": true, strings.Repeat("a", 41): true,
		"": false, "Radiology": false, "-ward": false, "ward_7": false, "ward.7": false, strings.Repeat("a", 42): false,
	} {
		if got := Valid(name); got != want {
			t.Errorf("Valid(%q) = %v, want %v", name, got, want)
		}
	}
}
