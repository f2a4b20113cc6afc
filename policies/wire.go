//lint:file-ignore SA1019 the deprecated strings of the wire contract (AppInstance.action, UserNotified.action, MediaFinding.finding and .action) are written and read in this file only, for agents and servers of the last release

package policies

import (
	"fmt"
	"strconv"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// This file maps actions and camera/microphone findings to their values in
// the wire contract (vcguardv1.Action, vcguardv1.MediaFindingKind), and
// keeps the typed fields of an event and the deprecated strings they
// replace in step: FillDeprecated for the agent that records an event,
// ResolveDeprecated for the server that stores it. Both go once no agent
// or server of the release before the typed fields is left.

// actionWire pairs each action with its value in the wire contract.
var actionWire = map[Action]vcguardv1.Action{
	ActionMonitor: vcguardv1.Action_ACTION_MONITOR,
	ActionWarn:    vcguardv1.Action_ACTION_WARN,
	ActionBlock:   vcguardv1.Action_ACTION_BLOCK,
}

// Proto returns the action's value in the wire contract, ACTION_UNSPECIFIED
// for "" and for a string that is no action.
func (a Action) Proto() vcguardv1.Action { return actionWire[a] }

// ActionFromProto returns the action of a wire value: "" for
// ACTION_UNSPECIFIED and for values this version does not know.
func ActionFromProto(p vcguardv1.Action) Action { return fromWire(actionWire, p, "") }

// fromWire returns the key whose wire value is p in m, or none.
func fromWire[K, W comparable](m map[K]W, p W, none K) K {
	for k, w := range m {
		if w == p {
			return k
		}
	}
	return none
}

// mediaFindingWire pairs each kind of camera or microphone finding with
// its value in the wire contract.
var mediaFindingWire = map[MediaFindingKind]vcguardv1.MediaFindingKind{
	MediaUnknownApp:      vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNKNOWN_APP,
	MediaForbiddenApp:    vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_FORBIDDEN_APP,
	MediaUnverifiedApp:   vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNVERIFIED_APP,
	MediaLeftOn:          vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_LEFT_ON,
	MediaScreenShare:     vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_SCREEN_SHARE,
	MediaOutputRecording: vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_OUTPUT_RECORDING,
	MediaLeftRunning:     vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_LEFT_RUNNING,
}

// Proto returns the kind's value in the wire contract,
// MEDIA_FINDING_KIND_UNSPECIFIED for a string that is no kind.
func (k MediaFindingKind) Proto() vcguardv1.MediaFindingKind { return mediaFindingWire[k] }

// MediaFindingKindFromProto returns the kind of a wire value: "" for
// MEDIA_FINDING_KIND_UNSPECIFIED and for values this version does not
// know.
func MediaFindingKindFromProto(p vcguardv1.MediaFindingKind) MediaFindingKind {
	return fromWire(mediaFindingWire, p, "")
}

// FillDeprecated sets every deprecated string of e (AppInstance.action,
// UserNotified.action, MediaFinding.finding and .action) from the typed
// field that replaces it, for servers of the last release, which read only
// the strings. A typed field left unspecified, or holding a value this
// version does not know, leaves its string as it is. The agent calls it on
// each event it records.
func FillDeprecated(e *vcguardv1.Event) {
	eachAction(e, func(_ func() string, typed *vcguardv1.Action, legacy *string) {
		if a := ActionFromProto(*typed); a != "" {
			*legacy = string(a)
		}
	})
	if f := e.GetMediaFinding(); f != nil {
		if k := MediaFindingKindFromProto(f.Kind); k != "" {
			f.Finding = string(k)
		}
	}
}

// ResolveDeprecated makes every typed field of e and the deprecated string
// it replaces say the same, as the server stores them: the typed value
// when it is set, else the string (an agent of the last release writes
// only the string). A typed value this version knows sets the string to
// its name; a known string under an unspecified typed field sets the typed
// field; a string that names nothing under an unspecified typed field is
// left as it is, as a server of the last release kept it.
//
// A typed value this version does not know (a newer agent, or a forged
// event) is left as it is, with its string, and reported: the error names
// every such field, e.g. "media_finding.kind: 9 is not a MediaFindingKind
// this version knows". The rest of e is resolved all the same.
func ResolveDeprecated(e *vcguardv1.Event) error {
	var errs []error
	unknown := func(path string, n int32, typ string) {
		errs = append(errs, fmt.Errorf("%s: %d is not %s this version knows", path, n, typ))
	}
	eachAction(e, func(path func() string, typed *vcguardv1.Action, legacy *string) {
		switch a := ActionFromProto(*typed); {
		case a != "":
			*legacy = string(a)
		case *typed != vcguardv1.Action_ACTION_UNSPECIFIED:
			unknown(path(), int32(*typed), "an Action")
		default:
			*typed = Action(*legacy).Proto()
		}
	})
	if f := e.GetMediaFinding(); f != nil {
		switch k := MediaFindingKindFromProto(f.Kind); {
		case k != "":
			f.Finding = string(k)
		case f.Kind != vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNSPECIFIED:
			unknown("media_finding.kind", int32(f.Kind), "a MediaFindingKind")
		default:
			f.Kind = MediaFindingKind(f.Finding).Proto()
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return unknownValues(errs)
}

// unknownValues is ResolveDeprecated's report of the typed values it does
// not know, one error per field; its message names the first (an
// inventory may hold a thousand).
type unknownValues []error

func (u unknownValues) Error() string {
	s := u[0].Error()
	if len(u) > 1 {
		s += " (and " + strconv.Itoa(len(u)-1) + " more fields)"
	}
	return s
}

func (u unknownValues) Unwrap() []error { return u }

// eachAction calls fn with every action field of e: a function returning
// its path in the event (for errors, so it is built only when needed), the
// typed field, and the deprecated string it replaces.
func eachAction(e *vcguardv1.Event, fn func(path func() string, typed *vcguardv1.Action, legacy *string)) {
	app := func(path func() string, a *vcguardv1.AppInstance) {
		if a != nil {
			fn(path, &a.PolicyAction, &a.Action)
		}
	}
	switch d := e.GetDetail().(type) {
	case *vcguardv1.Event_App:
		app(func() string { return "app.app.policy_action" }, d.App.GetApp())
	case *vcguardv1.Event_Inventory:
		for i, a := range d.Inventory.GetApps() {
			app(func() string { return "inventory.apps[" + strconv.Itoa(i) + "].policy_action" }, a)
		}
	case *vcguardv1.Event_Enforcement:
		app(func() string { return "enforcement.app.policy_action" }, d.Enforcement.GetApp())
	case *vcguardv1.Event_UserNotified:
		if n := d.UserNotified; n != nil {
			fn(func() string { return "user_notified.policy_action" }, &n.PolicyAction, &n.Action)
		}
	case *vcguardv1.Event_MediaFinding:
		if f := d.MediaFinding; f != nil {
			fn(func() string { return "media_finding.policy_action" }, &f.PolicyAction, &f.Action)
		}
	}
}
