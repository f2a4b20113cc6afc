package installer

import (
	"strings"
	"testing"
)

func TestReleaseValidate(t *testing.T) {
	amd64 := Target{"linux", "amd64"}
	good := Release{Version: "1.4.0", Agent: map[Target]string{amd64: "/bin/agent"}, OutDir: "dist"}
	if err := good.Validate(amd64); err != nil {
		t.Errorf("good release: %v", err)
	}
	for _, tc := range []struct {
		name string
		r    Release
		want string
	}{
		{"git describe version", Release{Version: "v1.4.0-3-gabc", Agent: good.Agent, OutDir: "dist"}, "MAJOR.MINOR.PATCH"},
		{"no agent", Release{Version: "1.4.0-rc.1", OutDir: "dist"}, "linux/amd64"},
		{"no output", Release{Version: "1.4.0", Agent: good.Agent}, "output directory"},
	} {
		if err := tc.r.Validate(amd64); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}
