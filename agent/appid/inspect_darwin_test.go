package appid

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestCodesignRequirement(t *testing.T) {
	t.Parallel()
	const zoomExe = "/Applications/zoom.us.app/Contents/MacOS/zoom.us"
	const faceTime = "/System/Applications/FaceTime.app/Contents/MacOS/FaceTime"
	tests := []struct {
		name    string
		teamID  string
		exe     string
		c       Candidate
		want    string
		wantErr string
	}{
		{
			name:   "developer id or app store, for the team found",
			teamID: "BJ4HAAB9B3",
			exe:    zoomExe,
			c:      Candidate{TeamIDs: []string{"BJ4HAAB9B3"}},
			want:   `anchor apple generic and (certificate leaf[field.1.2.840.113635.100.6.1.9] or certificate leaf[subject.OU] = "BJ4HAAB9B3")`,
		},
		{
			name:    "a team id that would inject requirement text",
			teamID:  `X" or anchor trusted or "`,
			exe:     zoomExe,
			wantErr: "invalid team id",
		},
		{name: "lower-case team id", teamID: "bj4haab9b3", exe: zoomExe, wantErr: "invalid team id"},
		{name: "short team id", teamID: "BJ4HAAB9B", exe: zoomExe, wantErr: "invalid team id"},
		{name: "apple app, catalog expects no team", exe: faceTime, want: "anchor apple"},
		{name: "safari", exe: "/Applications/Safari.app/Contents/MacOS/Safari", want: "anchor apple"},
		{
			name: "safari in the cryptex",
			exe:  "/System/Volumes/Preboot/Cryptexes/App/System/Applications/Safari.app/Contents/MacOS/Safari",
			want: "anchor apple",
		},
		{
			name:    "apple path but the catalog expects a team",
			exe:     faceTime,
			c:       Candidate{TeamIDs: []string{"BJ4HAAB9B3"}},
			wantErr: "no team id",
		},
		{name: "no team id outside Apple's places", exe: zoomExe, wantErr: "no team id"},
		{name: "look-alike of /System", exe: "/SystemX/FaceTime", wantErr: "no team id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := codesignRequirement(tt.teamID, tt.exe, tt.c)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("codesignRequirement = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("codesignRequirement = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestCodesignMessage(t *testing.T) {
	t.Parallel()
	if got := codesignMessage([]byte("  /x: invalid signature (code or signature have been modified)\nIn architecture: arm64\n")); got != "/x: invalid signature (code or signature have been modified)" {
		t.Errorf("first line: %q", got)
	}
	if got := codesignMessage(nil); got != "no output" {
		t.Errorf("empty: %q", got)
	}
	long := strings.Repeat("é", 400)
	if got := codesignMessage([]byte(long)); len(got) > 310 || !strings.HasSuffix(got, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("long output cut to %q", got)
	}
}

// An app Apple ships: its bundle gives id and version, and codesign finds
// it signed by Apple.
func TestInspectAppleApp(t *testing.T) {
	t.Parallel()
	const exe = "/System/Applications/FaceTime.app/Contents/MacOS/FaceTime"
	if _, err := os.Stat(exe); err != nil {
		t.Skipf("no FaceTime: %v", err)
	}
	info := NewInspector("").Inspect(context.Background(), 0, exe, Candidate{BundleIDs: []string{"com.apple.FaceTime"}})
	if info.BundleID != "com.apple.FaceTime" || info.Version == "" || !info.Signed || info.TeamID != "" {
		t.Errorf("Inspect(FaceTime) = %+v; want bundle id com.apple.FaceTime, a version, signed, no team id", info)
	}
}

// The Go linker signs darwin/arm64 executables ad hoc: no certificate, so
// not Signed, and codesign is not even asked.
func TestInspectAdHoc(t *testing.T) {
	t.Parallel()
	exe := buildMachO(t)
	info := NewInspector("").Inspect(context.Background(), 0, exe, Candidate{TeamIDs: []string{"BJ4HAAB9B3"}})
	if info.Signed || info.TeamID != "" || !strings.Contains(info.Reason, "ad hoc") {
		t.Errorf("Inspect(ad hoc) = %+v; want unsigned, ad hoc", info)
	}
}
