package policies

import (
	"slices"
	"testing"
	"time"
)

func TestMediaRulesInForce(t *testing.T) {
	t.Parallel()
	central := &Policy{Media: &MediaRules{ForbiddenApps: ActionBlock, UnknownApps: ActionMonitor, IdleMinutes: 30, ScreenShare: ActionWarn, LeftRunningMinutes: 15}}
	local := &Policy{Media: &MediaRules{ForbiddenApps: ActionWarn, UnknownApps: ActionWarn, IdleMinutes: 10, OutputRecording: ActionWarn, LeftRunningMinutes: 20}}
	def := MediaInForce{ScreenShare: ActionMonitor, OutputRecording: ActionMonitor}
	cases := []struct {
		name string
		ps   []*Policy
		want MediaInForce
	}{
		{"none", nil, MediaInForce{ForbiddenApps: DefaultMediaForbiddenAction, UnverifiedApps: DefaultMediaUnverifiedAction, UnknownApps: DefaultMediaUnknownAction,
			ScreenShare: DefaultScreenShareAction, OutputRecording: DefaultOutputRecordingAction}},
		{"nil policy and no media rules", []*Policy{nil, {}}, MediaInForce{ForbiddenApps: ActionWarn, UnverifiedApps: ActionWarn, UnknownApps: ActionMonitor,
			ScreenShare: def.ScreenShare, OutputRecording: def.OutputRecording}},
		{"central", []*Policy{central}, MediaInForce{ForbiddenApps: ActionBlock, UnverifiedApps: ActionWarn, UnknownApps: ActionMonitor,
			ScreenShare: ActionWarn, OutputRecording: ActionMonitor, Idle: 30 * time.Minute, LeftRunning: 15 * time.Minute}},
		// The strongest action of any policy, the shortest limits.
		{"central and local", []*Policy{central, local}, MediaInForce{ForbiddenApps: ActionBlock, UnverifiedApps: ActionWarn, UnknownApps: ActionWarn,
			ScreenShare: ActionWarn, OutputRecording: ActionWarn, Idle: 10 * time.Minute, LeftRunning: 15 * time.Minute}},
		{"local and central", []*Policy{local, central}, MediaInForce{ForbiddenApps: ActionBlock, UnverifiedApps: ActionWarn, UnknownApps: ActionWarn,
			ScreenShare: ActionWarn, OutputRecording: ActionWarn, Idle: 10 * time.Minute, LeftRunning: 15 * time.Minute}},
	}
	for _, c := range cases {
		if got := MediaRulesInForce(c.ps); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestMediaEvaluate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	m := MediaInForce{ForbiddenApps: ActionBlock, UnverifiedApps: ActionWarn, UnknownApps: ActionMonitor, ScreenShare: ActionWarn, OutputRecording: ActionMonitor, Idle: 10 * time.Minute}
	long, short := now.Add(-11*time.Minute), now.Add(-time.Minute)
	cases := []struct {
		name    string
		u       MediaSubject
		meeting bool
		noIdle  bool
		want    []MediaFinding
	}{
		{"neither capture, screen nor output", MediaSubject{AppID: "", Since: long}, false, false, nil},
		{"screen cast: its own kind, never left on", MediaSubject{Screen: true, AppID: "zoom", Since: long}, false, false, []MediaFinding{{MediaScreenShare, ActionWarn}}},
		{"output recording", MediaSubject{Output: true, Since: long}, true, false, []MediaFinding{{MediaOutputRecording, ActionMonitor}}},
		{"unknown app, short", MediaSubject{Capture: true, Since: short}, false, false, []MediaFinding{{MediaUnknownApp, ActionMonitor}}},
		{"unknown app, left on", MediaSubject{Capture: true, Since: long}, false, false, []MediaFinding{{MediaUnknownApp, ActionMonitor}, {MediaLeftOn, ActionWarn}}},
		{"unknown app, long, in a meeting", MediaSubject{Capture: true, Since: long}, true, false, []MediaFinding{{MediaUnknownApp, ActionMonitor}}},
		{"forbidden app", MediaSubject{Capture: true, AppID: "skype", Category: CategoryMeeting, AppVerdict: VerdictForbidden, Since: short}, false, false, []MediaFinding{{MediaForbiddenApp, ActionBlock}}},
		{"unverified app", MediaSubject{Capture: true, AppID: "zoom", Category: CategoryMeeting, AppVerdict: VerdictUnverified, Since: short}, true, false, []MediaFinding{{MediaUnverifiedApp, ActionWarn}}},
		{"approved app", MediaSubject{Capture: true, AppID: "jitsi-meet", Category: CategoryMeeting, AppVerdict: VerdictApproved, Since: short}, true, false, nil},
		{"browser call, long", MediaSubject{Capture: true, AppID: "chrome", Category: CategoryBrowser, AppVerdict: VerdictUnlisted, Since: long}, false, false, nil},
		{"multi-service host call, long", MediaSubject{Capture: true, AppID: "ferdium", Category: CategoryMultiService, AppVerdict: VerdictRestricted, Since: long}, false, false, nil},
		{"forbidden multi-service host", MediaSubject{Capture: true, AppID: "ferdium", Category: CategoryMultiService, AppVerdict: VerdictForbidden, Since: long}, false, false, []MediaFinding{{MediaForbiddenApp, ActionBlock}}},
		{"exactly the idle time", MediaSubject{Capture: true, AppID: "jitsi-meet", Category: CategoryMeeting, AppVerdict: VerdictApproved, Since: now.Add(-10 * time.Minute)}, false, false, []MediaFinding{{MediaLeftOn, ActionWarn}}},
		{"idle check off", MediaSubject{Capture: true, Since: long}, false, true, []MediaFinding{{MediaUnknownApp, ActionMonitor}}},
	}
	for _, c := range cases {
		rules := m
		if c.noIdle {
			rules.Idle = 0
		}
		if got := rules.Evaluate(c.u, c.meeting, now); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMediaLeftRunning(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	m := MediaInForce{LeftRunning: 15 * time.Minute}
	for _, c := range []struct {
		name    string
		rules   MediaInForce
		lastUse time.Time
		inUse   bool
		want    bool
	}{
		{"after the limit", m, now.Add(-15 * time.Minute), false, true},
		{"before the limit", m, now.Add(-14 * time.Minute), false, false},
		{"still in use", m, now.Add(-time.Hour), true, false},
		{"never used", m, time.Time{}, false, false},
		{"check off", MediaInForce{}, now.Add(-time.Hour), false, false},
	} {
		f, ok := c.rules.EvaluateLeftRunning(c.lastUse, c.inUse, now)
		if ok != c.want || (ok && f != (MediaFinding{MediaLeftRunning, ActionWarn})) {
			t.Errorf("%s: got %v %v, want %v", c.name, f, ok, c.want)
		}
	}
}
