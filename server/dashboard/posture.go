package dashboard

import (
	"fmt"
	"strings"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// postureWords say what each kind of posture finding means.
var postureWords = map[policies.PostureKind]string{
	policies.PostureUpdatesOff:     "automatic updates off",
	policies.PostureOutdated:       "newer version offered",
	policies.PostureTelemetryOn:    "sends usage data",
	policies.PostureSSONotEnforced: "single sign-on not enforced",
	policies.PostureAutostart:      "starts at login",
	policies.PostureKeepsRunning:   "keeps running when closed",
	policies.PostureRecording:      "local recording during a meeting",
}

// postureText says in words what an app_posture event reports: "Zoom
// Workplace: automatic updates off (~/.config/zoomus.conf (autoUpdate) =
// false), warned; starts at login (~/.config/autostart/zoom.desktop),
// recorded".
func postureText(p *vcguardv1.AppPosture, name func(string) string) string {
	app := name(p.GetAppId())
	if app == "" {
		app = p.GetAppId()
	}
	var parts []string
	for _, f := range p.GetFindings() {
		k := policies.PostureKindFromProto(f.GetKind())
		words, ok := postureWords[k]
		if !ok {
			words = "a setting not as required"
		}
		where := f.GetWhere()
		if d := f.GetDetail(); d != "" {
			if k == policies.PostureRecording {
				where += ", a " + d + " file"
			} else {
				where += " = " + d
			}
		}
		s := words
		if where != "" {
			s += " (" + where + ")"
		}
		if done := actionDone(string(policies.ActionFromProto(f.GetPolicyAction()))); done != "" {
			s += ", " + done
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		parts = append(parts, "settings as required")
	}
	out := app + ": " + strings.Join(parts, "; ")
	if n := len(p.GetErrors()); n > 0 {
		out += fmt.Sprintf(" (%d check(s) not read: %s)", n, strings.Join(p.GetErrors(), "; "))
	}
	return out
}
