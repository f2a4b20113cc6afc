package main

import (
	"io"
	"strings"
	"testing"
)

func TestSIEMFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--siem-syslog", "tls://siem.example:6514", "--siem-format", "cef"}, ""},
		{[]string{"--siem-webhook", "https://siem.example/in", "--siem-webhook-secret-file", "/etc/vcguard/siem-secret"}, ""},
		{[]string{"--siem-syslog", "siem.example:6514"}, "want tls://HOST:PORT"},
		{[]string{"--siem-syslog", "udp://siem.example:514"}, "want tls://HOST:PORT"},
		{[]string{"--siem-syslog", "tls://siem.example"}, "with the port"},
		{[]string{"--siem-webhook", "http://siem.example/in", "--siem-webhook-secret-file", "f"}, "https://"},
		{[]string{"--siem-webhook", "https://siem.example/in"}, "needs --siem-webhook-secret-file"},
		{[]string{"--siem-format", "ocsf"}, "use ecs"},
		{[]string{"--siem-format", "cef", "--siem-webhook-format", "ecs"}, ""},
		{[]string{"--siem-syslog-format", "leef"}, "--siem-syslog-format"},
		{[]string{"--siem-syslog", "tls://h:6514", "--siem-syslog-cert", "c.pem"}, "go together"},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		if tc.wantErr == "" && err != nil {
			t.Errorf("%q: %v", tc.args, err)
		}
		if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%q: error %v, want one saying %q", tc.args, err, tc.wantErr)
		}
	}
}
