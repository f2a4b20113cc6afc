package agent

import "testing"

func TestParseScript(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmdline, want string
	}{
		{"/bin/sh\x00/usr/bin/chromium\x00--version\x00", "/usr/bin/chromium"},
		{"sh\x00-e\x00/opt/zoom/zoom.sh\x00", "/opt/zoom/zoom.sh"},
		{"/usr/bin/python3\x00-u\x00/usr/share/app/../app/run.py\x00", "/usr/share/app/run.py"},
		{"bash\x00run.sh\x00", ""},        // relative: nothing to check
		{"bash\x00-c\x00echo hi\x00", ""}, // a command, no script
		{"bash\x00", ""},
		{"", ""},
		{"sh\x00/tmp/x\ny\x00", ""},
	} {
		if got := parseScript([]byte(tc.cmdline)); got != tc.want {
			t.Errorf("parseScript(%q) = %q, want %q", tc.cmdline, got, tc.want)
		}
	}
	for name, want := range map[string]bool{"dash": true, "python3.11": true, "python3": true, "env": true, "zoom": false, "pythonista": false, "chromium": false} {
		if got := isInterpreter(name); got != want {
			t.Errorf("isInterpreter(%q) = %v, want %v", name, got, want)
		}
	}
}
