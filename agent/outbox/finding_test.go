package outbox_test

import (
	"testing"

	"github.com/vcguard/vcguard/agent/outbox"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// A wrong server or personal account, and a browser letting an
// unapproved or unknown site use the camera, are findings the outbox keeps
// longest; an app set up as the policy wants, a browser meeting on an
// approved site and a browser policy report are not.
func TestIsFindingOfConnectionsAndSites(t *testing.T) {
	ev := func(d any) *vcguardv1.Event {
		switch d := d.(type) {
		case *vcguardv1.AppConnection:
			return &vcguardv1.Event{Detail: &vcguardv1.Event_AppConnection{AppConnection: d}}
		case *vcguardv1.BrowserMeeting:
			return &vcguardv1.Event{Detail: &vcguardv1.Event_BrowserMeeting{BrowserMeeting: d}}
		case *vcguardv1.BrowserPolicy:
			return &vcguardv1.Event{Detail: &vcguardv1.Event_BrowserPolicy{BrowserPolicy: d}}
		case *vcguardv1.AppPosture:
			return &vcguardv1.Event{Detail: &vcguardv1.Event_AppPosture{AppPosture: d}}
		}
		t.Fatalf("%T", d)
		return nil
	}
	for _, c := range []struct {
		name string
		ev   *vcguardv1.Event
		want bool
	}{
		{"wrong server", ev(&vcguardv1.AppConnection{Findings: []*vcguardv1.ConnectionFinding{{Kind: vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_WRONG_SERVER}}}), true},
		{"setup allowed", ev(&vcguardv1.AppConnection{Servers: []string{"meet.example.org"}}), false},
		{"unapproved site", ev(&vcguardv1.BrowserMeeting{Kind: vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNAPPROVED_SITE}), true},
		{"unknown site", ev(&vcguardv1.BrowserMeeting{Kind: vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNKNOWN_SITE}), true},
		{"approved site", ev(&vcguardv1.BrowserMeeting{Kind: vcguardv1.SiteFindingKind_SITE_FINDING_KIND_APPROVED_SITE}), false},
		{"browser policy", ev(&vcguardv1.BrowserPolicy{Mode: "enforce"}), false},
		{"posture warned of", ev(&vcguardv1.AppPosture{Findings: []*vcguardv1.PostureFinding{
			{Kind: vcguardv1.PostureKind_POSTURE_KIND_AUTOSTART, PolicyAction: vcguardv1.Action_ACTION_MONITOR},
			{Kind: vcguardv1.PostureKind_POSTURE_KIND_UPDATES_OFF, PolicyAction: vcguardv1.Action_ACTION_WARN},
		}}), true},
		{"posture monitored", ev(&vcguardv1.AppPosture{Findings: []*vcguardv1.PostureFinding{{Kind: vcguardv1.PostureKind_POSTURE_KIND_AUTOSTART, PolicyAction: vcguardv1.Action_ACTION_MONITOR}}}), false},
	} {
		if got := outbox.IsFinding(c.ev); got != c.want {
			t.Errorf("%s: IsFinding = %v, want %v", c.name, got, c.want)
		}
	}
}
