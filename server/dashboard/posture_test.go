package dashboard

import (
	"testing"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

func TestPostureText(t *testing.T) {
	name := func(id string) string {
		if id == "zoom" {
			return "Zoom Workplace"
		}
		return ""
	}
	p := &vcguardv1.AppPosture{AppId: "zoom", Findings: []*vcguardv1.PostureFinding{
		{Kind: vcguardv1.PostureKind_POSTURE_KIND_UPDATES_OFF, Where: "/Library/Preferences/us.zoom.config.plist (AU2_EnableAutoUpdate)", Detail: "false", PolicyAction: vcguardv1.Action_ACTION_WARN},
		{Kind: vcguardv1.PostureKind_POSTURE_KIND_RECORDING, Where: "~/Documents/Zoom", Detail: ".mp4", PolicyAction: vcguardv1.Action_ACTION_MONITOR},
		{Kind: 99, Where: "x"},
	}, Errors: []string{"~/.config/zoomus.conf: refused: is a symbolic link"}}
	want := "Zoom Workplace: automatic updates off (/Library/Preferences/us.zoom.config.plist (AU2_EnableAutoUpdate) = false), warned; " +
		"local recording during a meeting (~/Documents/Zoom, a .mp4 file), recorded; a setting not as required (x) " +
		"(1 check(s) not read: ~/.config/zoomus.conf: refused: is a symbolic link)"
	if got := postureText(p, name); got != want {
		t.Errorf("postureText =\n%q\nwant\n%q", got, want)
	}
	if got := postureText(&vcguardv1.AppPosture{AppId: "element"}, name); got != "element: settings as required" {
		t.Errorf("no findings: %q", got)
	}
}
