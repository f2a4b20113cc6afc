package appid

import (
	"strings"
	"testing"
)

func TestParseSnapYAMLVersion(t *testing.T) {
	tests := []struct {
		name, data, want, wantErr string
	}{
		{name: "zoom-client", data: string(readTestdata(t, "snap/zoom-client.snap.yaml")), want: "6.2.11.5069"},
		{name: "unquoted float kept as written", data: string(readTestdata(t, "snap/unquoted-float.snap.yaml")), want: "5.10"},
		{name: "quoted", data: "name: x\nversion: '1.0-beta'\n", want: "1.0-beta"},
		{name: "no version", data: "name: x\n", wantErr: "no version"},
		{name: "version is a list", data: "name: x\nversion: [1, 2]\n", wantErr: "line 2: version is not a scalar"},
		{name: "empty version", data: "name: x\nversion: ''\n", wantErr: "empty version"},
		{name: "not YAML", data: "name: [x\n", wantErr: "snap.yaml:"},
		{name: "not a mapping", data: "- a\n- b\n", wantErr: "snap.yaml:"},
		{name: "too large", data: strings.Repeat("#", maxSnapYAMLSize+1), wantErr: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSnapYAMLVersion([]byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseSnapYAMLVersion = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSnapFromPath(t *testing.T) {
	tests := []struct {
		exe                      string
		name, instance, revision string
		ok                       bool
	}{
		{"/snap/zoom-client/225/zoom/zoom", "zoom-client", "zoom-client", "225", true},
		{"/snap/zoom-client_work/225/zoom/zoom", "zoom-client", "zoom-client_work", "225", true},
		{"/snap/slack/x1/usr/lib/slack/slack", "slack", "slack", "x1", true},
		{"/snap/slack/current/usr/lib/slack/slack", "slack", "slack", "current", true},
		{"/snap/bin/zoom-client", "", "", "", false},
		{"/snap/zoom-client/225", "", "", "", false},
		{"/snap/zoom-client/225/", "", "", "", false},
		{"/snap/Zoom/225/zoom", "", "", "", false},
		{"/snap/zoom/abc/zoom", "", "", "", false},
		{"/snap/../etc/225/x", "", "", "", false},
		{"/usr/bin/zoom", "", "", "", false},
	}
	for _, tt := range tests {
		name, instance, rev, ok := snapFromPath(tt.exe)
		if ok != tt.ok || name != tt.name || instance != tt.instance || rev != tt.revision {
			t.Errorf("snapFromPath(%q) = %q, %q, %q, %v", tt.exe, name, instance, rev, ok)
		}
	}
}
