package appid

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRpmQF(t *testing.T) {
	tests := []struct {
		name, out         string
		wantName, wantVer string
		wantErr           string
		wantNotOwned      bool
	}{
		{name: "no epoch", out: "zoom\t(none):6.2.11.5069-1\n", wantName: "zoom", wantVer: "6.2.11.5069-1"},
		{name: "epoch", out: "teams\t1:1.5.00.23861-1\n", wantName: "teams", wantVer: "1:1.5.00.23861-1"},
		{name: "epoch 0 dropped", out: "slack\t0:4.41.105-0.1.el8\n", wantName: "slack", wantVer: "4.41.105-0.1.el8"},
		{name: "two owners: first", out: "filesystem\t(none):3.18-6.fc39\nzoom\t(none):5.17.11-1\n", wantName: "filesystem", wantVer: "3.18-6.fc39"},
		{name: "CRLF and blank lines", out: "\r\nzoom\t(none):5-1\r\n\r\n", wantName: "zoom", wantVer: "5-1"},
		{name: "not owned", out: "file /opt/x/zoom is not owned by any package\n", wantErr: "not owned", wantNotOwned: true},
		{name: "empty", out: "", wantErr: "empty output"},
		{name: "no tab", out: "zoom 5.0-1\n", wantErr: "line 1: expected NAME<tab>"},
		{name: "no epoch part", out: "zoom\t5.0-1\n", wantErr: "no EPOCH: part"},
		{name: "bad epoch", out: "zoom\tx:5.0-1\n", wantErr: `bad epoch "x"`},
		{name: "empty version", out: "zoom\t(none):-\n", wantErr: "empty version"},
		{name: "empty name", out: "\t(none):1-1\n", wantErr: "bad package name"},
		{name: "error on line 2", out: "zoom\t(none):1-1\ngarbage\n", wantErr: "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, ver, err := ParseRpmQF(tt.out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				if errors.Is(err, ErrNotOwned) != tt.wantNotOwned {
					t.Errorf("errors.Is(err, ErrNotOwned) = %v", !tt.wantNotOwned)
				}
				return
			}
			if err != nil || name != tt.wantName || ver != tt.wantVer {
				t.Errorf("ParseRpmQF = %q, %q, %v; want %q, %q", name, ver, err, tt.wantName, tt.wantVer)
			}
		})
	}
}
