//lint:file-ignore SA1019 the deprecated strings are what an agent of the last release sends

package policies_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// TestActionWire: every action round-trips through its wire value, every
// wire value but ACTION_UNSPECIFIED is an action (a value added to the
// proto without a mapping fails here), and the wire names are the
// deprecated strings in capitals, so old and new agents say the same.
func TestActionWire(t *testing.T) {
	t.Parallel()
	for _, a := range []policies.Action{policies.ActionMonitor, policies.ActionWarn, policies.ActionBlock} {
		p := a.Proto()
		if p == vcguardv1.Action_ACTION_UNSPECIFIED {
			t.Errorf("Action(%q).Proto() is unspecified", a)
		}
		if got := policies.ActionFromProto(p); got != a {
			t.Errorf("ActionFromProto(%v) = %q, want %q", p, got, a)
		}
		if want := "ACTION_" + strings.ToUpper(string(a)); p.String() != want {
			t.Errorf("Action(%q).Proto() = %v, want %s", a, p, want)
		}
	}
	for n, name := range vcguardv1.Action_name {
		p := vcguardv1.Action(n)
		a := policies.ActionFromProto(p)
		if p == vcguardv1.Action_ACTION_UNSPECIFIED {
			if a != "" {
				t.Errorf("ActionFromProto(%s) = %q, want \"\"", name, a)
			}
			continue
		}
		if a == "" || a.Proto() != p {
			t.Errorf("ActionFromProto(%s) = %q (back: %v): the wire value has no action in package policies", name, a, a.Proto())
		}
	}
	for _, a := range []policies.Action{"", "quarantine", "Warn"} {
		if p := a.Proto(); p != vcguardv1.Action_ACTION_UNSPECIFIED {
			t.Errorf("Action(%q).Proto() = %v, want unspecified", a, p)
		}
	}
	if a := policies.ActionFromProto(99); a != "" {
		t.Errorf("ActionFromProto(99) = %q, want \"\"", a)
	}
}

// TestMediaFindingKindWire is TestActionWire for the kinds of camera and
// microphone findings.
func TestMediaFindingKindWire(t *testing.T) {
	t.Parallel()
	for _, k := range policies.MediaFindingKinds {
		p := k.Proto()
		if p == vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNSPECIFIED {
			t.Errorf("MediaFindingKind(%q).Proto() is unspecified", k)
		}
		if got := policies.MediaFindingKindFromProto(p); got != k {
			t.Errorf("MediaFindingKindFromProto(%v) = %q, want %q", p, got, k)
		}
		if want := "MEDIA_FINDING_KIND_" + strings.ToUpper(string(k)); p.String() != want {
			t.Errorf("MediaFindingKind(%q).Proto() = %v, want %s", k, p, want)
		}
	}
	for n, name := range vcguardv1.MediaFindingKind_name {
		p := vcguardv1.MediaFindingKind(n)
		k := policies.MediaFindingKindFromProto(p)
		if p == vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNSPECIFIED {
			if k != "" {
				t.Errorf("MediaFindingKindFromProto(%s) = %q, want \"\"", name, k)
			}
			continue
		}
		if k == "" || k.Proto() != p {
			t.Errorf("MediaFindingKindFromProto(%s) = %q (back: %v): the wire value has no kind in package policies", name, k, k.Proto())
		}
	}
	for _, k := range []policies.MediaFindingKind{"", "left-on", "screen_shared"} {
		if p := k.Proto(); p != vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNSPECIFIED {
			t.Errorf("MediaFindingKind(%q).Proto() = %v, want unspecified", k, p)
		}
	}
	if k := policies.MediaFindingKindFromProto(99); k != "" {
		t.Errorf("MediaFindingKindFromProto(99) = %q, want \"\"", k)
	}
}

const (
	unspecified    = vcguardv1.Action_ACTION_UNSPECIFIED
	monitor        = vcguardv1.Action_ACTION_MONITOR
	warn           = vcguardv1.Action_ACTION_WARN
	block          = vcguardv1.Action_ACTION_BLOCK
	noKind         = vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNSPECIFIED
	unknownAppKind = vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNKNOWN_APP
	leftOnKind     = vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_LEFT_ON
)

func appEvent(typed vcguardv1.Action, legacy string) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: 1, Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{
		Kind: vcguardv1.AppEvent_KIND_STARTED, App: &vcguardv1.AppInstance{AppId: "zoom", PolicyAction: typed, Action: legacy}}}}
}

func mediaFinding(kind vcguardv1.MediaFindingKind, finding string, typed vcguardv1.Action, legacy string) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: 1, Detail: &vcguardv1.Event_MediaFinding{MediaFinding: &vcguardv1.MediaFinding{
		Use: &vcguardv1.MediaUse{Kind: "camera"}, Kind: kind, Finding: finding, PolicyAction: typed, Action: legacy}}}
}

func notified(typed vcguardv1.Action, legacy string) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: 1, Detail: &vcguardv1.Event_UserNotified{UserNotified: &vcguardv1.UserNotified{
		AppId: "zoom", Verdict: vcguardv1.Verdict_VERDICT_FORBIDDEN, PolicyAction: typed, Action: legacy}}}
}

func enforcement(typed vcguardv1.Action, legacy string) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: 1, Detail: &vcguardv1.Event_Enforcement{Enforcement: &vcguardv1.Enforcement{
		App: &vcguardv1.AppInstance{AppId: "zoom", PolicyAction: typed, Action: legacy}, Killed: []int32{1000}}}}
}

func inventory(apps ...*vcguardv1.AppInstance) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: 1, Detail: &vcguardv1.Event_Inventory{Inventory: &vcguardv1.Inventory{Apps: apps}}}
}

// TestResolveDeprecated: the server reads the typed field first and the
// deprecated string when it is unspecified (an agent of the last release),
// stores both in agreement, and names every typed value it does not know.
func TestResolveDeprecated(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		in, want  *vcguardv1.Event
		wantErr   string // "" for none
		errFields int
	}{
		{"app: typed only (a new agent)", appEvent(warn, ""), appEvent(warn, "warn"), "", 0},
		{"app: string only (an agent of the last release)", appEvent(unspecified, "block"), appEvent(block, "block"), "", 0},
		{"app: both", appEvent(monitor, "monitor"), appEvent(monitor, "monitor"), "", 0},
		{"app: both, disagreeing: typed wins", appEvent(block, "monitor"), appEvent(block, "block"), "", 0},
		{"app: neither", appEvent(unspecified, ""), appEvent(unspecified, ""), "", 0},
		{"app: a string that names nothing is kept", appEvent(unspecified, "quarantine"), appEvent(unspecified, "quarantine"), "", 0},
		{"app: unknown typed value kept with its string", appEvent(42, "quarantine"), appEvent(42, "quarantine"), "app.app.policy_action: 42 is not an Action", 1},
		{"enforcement: string only", enforcement(unspecified, "block"), enforcement(block, "block"), "", 0},
		{"enforcement: unknown", enforcement(7, ""), enforcement(7, ""), "enforcement.app.policy_action: 7", 1},
		{"user notified: typed only", notified(block, ""), notified(block, "block"), "", 0},
		{"user notified: string only", notified(unspecified, "warn"), notified(warn, "warn"), "", 0},
		{"user notified: unknown", notified(-1, "warn"), notified(-1, "warn"), "user_notified.policy_action: -1", 1},
		{"media finding: typed only", mediaFinding(leftOnKind, "", warn, ""), mediaFinding(leftOnKind, "left_on", warn, "warn"), "", 0},
		{"media finding: strings only", mediaFinding(noKind, "unknown_app", unspecified, "monitor"),
			mediaFinding(unknownAppKind, "unknown_app", monitor, "monitor"), "", 0},
		{"media finding: both", mediaFinding(leftOnKind, "left_on", warn, "warn"), mediaFinding(leftOnKind, "left_on", warn, "warn"), "", 0},
		{"media finding: unknown kind and action", mediaFinding(9, "screen_shared", 8, "record"), mediaFinding(9, "screen_shared", 8, "record"),
			"media_finding.policy_action: 8 is not an Action this version knows (and 1 more fields)", 2},
		{"media finding: unknown kind, known action", mediaFinding(9, "", block, ""), mediaFinding(9, "", block, "block"),
			"media_finding.kind: 9 is not a MediaFindingKind this version knows", 1},
		{"inventory: each app resolved, the unknown one named",
			inventory(&vcguardv1.AppInstance{AppId: "zoom", Action: "warn"}, &vcguardv1.AppInstance{AppId: "teams", PolicyAction: 5},
				&vcguardv1.AppInstance{AppId: "jitsi-meet", PolicyAction: monitor}),
			inventory(&vcguardv1.AppInstance{AppId: "zoom", Action: "warn", PolicyAction: warn}, &vcguardv1.AppInstance{AppId: "teams", PolicyAction: 5},
				&vcguardv1.AppInstance{AppId: "jitsi-meet", PolicyAction: monitor, Action: "monitor"}),
			"inventory.apps[1].policy_action: 5", 1},
		{"an event without actions", &vcguardv1.Event{Seq: 1, Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: 3}}},
			&vcguardv1.Event{Seq: 1, Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: 3}}}, "", 0},
		{"an empty media finding", &vcguardv1.Event{Seq: 1, Detail: &vcguardv1.Event_MediaFinding{}},
			&vcguardv1.Event{Seq: 1, Detail: &vcguardv1.Event_MediaFinding{}}, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := policies.ResolveDeprecated(c.in)
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("error %v, want one containing %q", err, c.wantErr)
			}
			if c.errFields > 0 {
				u, ok := err.(interface{ Unwrap() []error })
				if !ok || len(u.Unwrap()) != c.errFields {
					t.Errorf("error %#v: want %d field errors", err, c.errFields)
				}
			}
			if !proto.Equal(c.in, c.want) {
				t.Errorf("resolved to\n%v\nwant\n%v", c.in, c.want)
			}
		})
	}
}

// TestFillDeprecated: the agent writes each deprecated string from its
// typed field, so a server of the last release reads what a new one does.
func TestFillDeprecated(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		in, want *vcguardv1.Event
	}{
		{"app", appEvent(block, ""), appEvent(block, "block")},
		{"app: typed wins", appEvent(warn, "monitor"), appEvent(warn, "warn")},
		{"app: unspecified leaves the string", appEvent(unspecified, "monitor"), appEvent(unspecified, "monitor")},
		{"app: unknown leaves the string", appEvent(42, ""), appEvent(42, "")},
		{"enforcement", enforcement(block, ""), enforcement(block, "block")},
		{"user notified", notified(warn, ""), notified(warn, "warn")},
		{"media finding", mediaFinding(unknownAppKind, "", monitor, ""), mediaFinding(unknownAppKind, "unknown_app", monitor, "monitor")},
		{"media finding: unknown kind", mediaFinding(9, "", warn, ""), mediaFinding(9, "", warn, "warn")},
		{"inventory", inventory(&vcguardv1.AppInstance{AppId: "zoom", PolicyAction: warn}, &vcguardv1.AppInstance{AppId: "teams", PolicyAction: monitor}),
			inventory(&vcguardv1.AppInstance{AppId: "zoom", PolicyAction: warn, Action: "warn"}, &vcguardv1.AppInstance{AppId: "teams", PolicyAction: monitor, Action: "monitor"})},
		{"no detail", &vcguardv1.Event{Seq: 1}, &vcguardv1.Event{Seq: 1}},
	}
	for _, c := range cases {
		policies.FillDeprecated(c.in)
		if !proto.Equal(c.in, c.want) {
			t.Errorf("%s: filled to\n%v\nwant\n%v", c.name, c.in, c.want)
		}
	}
}
