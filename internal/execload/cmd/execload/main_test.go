package main

import (
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string // "" for none
		exit    bool
		path    string
	}{
		{args: nil, path: "/bin/true"},
		{args: []string{"-rate", "1000", "-exit-program"}, exit: true, path: ""},
		{args: []string{"-exit-program", "-exe", "/bin/true"}, wantErr: "-exe and -exit-program"},
		{args: []string{"-exit-program", "-rate", "0"}, wantErr: "rate 0"},
		{args: []string{"-exe", "true"}, wantErr: "absolute path"},
		{args: []string{"-report", "-1s"}, wantErr: "negative"},
		{args: []string{"extra"}, wantErr: "unexpected arguments"},
	} {
		c, err := parseFlags(tc.args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want one saying %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if c.ExitProgram != tc.exit || c.Load.Path != tc.path {
			t.Errorf("%q: exit program %v, path %q; want %v, %q", tc.args, c.ExitProgram, c.Load.Path, tc.exit, tc.path)
		}
	}
}
