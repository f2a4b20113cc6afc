package vcguardv1

// EventType names an event as the server stores and filters it and as the
// agent counts what its outbox dropped: app_started, app_stopped,
// app_verdict_changed, inventory, policy_applied, local_policy,
// app_blocked, user_notified, camera_on, microphone_off, screen_on,
// output_audio_off, …, media_finding, events_dropped, app_connection,
// browser_meeting, browser_policy, app_posture; "unknown" for a
// detail this version does not know.
// Written by hand beside the generated code, so the agent and the server
// share one list. A media kind other than camera, microphone, screen or
// output_audio names "media_on"/"media_off", so an agent cannot invent type
// names.
func EventType(e *Event) string {
	switch d := e.GetDetail().(type) {
	case *Event_App:
		switch d.App.GetKind() {
		case AppEvent_KIND_STARTED:
			return "app_started"
		case AppEvent_KIND_STOPPED:
			return "app_stopped"
		case AppEvent_KIND_VERDICT_CHANGED:
			return "app_verdict_changed"
		}
		return "app"
	case *Event_Inventory:
		return "inventory"
	case *Event_PolicyApplied:
		return "policy_applied"
	case *Event_LocalPolicy:
		return "local_policy"
	case *Event_Enforcement:
		return "app_blocked"
	case *Event_UserNotified:
		return "user_notified"
	case *Event_Media:
		state := "off"
		if d.Media.GetOn() {
			state = "on"
		}
		kind := d.Media.GetUse().GetKind()
		switch kind {
		case "camera", "microphone", "screen", "output_audio":
		default:
			kind = "media"
		}
		return kind + "_" + state
	case *Event_MediaFinding:
		return "media_finding"
	case *Event_EventsDropped:
		return "events_dropped"
	case *Event_AppConnection:
		return "app_connection"
	case *Event_BrowserMeeting:
		return "browser_meeting"
	case *Event_BrowserPolicy:
		return "browser_policy"
	case *Event_AppPosture:
		return "app_posture"
	}
	return "unknown"
}

// EventTypes lists every name EventType returns (but "unknown"), sorted:
// what an event list may be filtered by.
func EventTypes() []string {
	return []string{
		"app", "app_blocked", "app_connection", "app_posture", "app_started", "app_stopped", "app_verdict_changed",
		"browser_meeting", "browser_policy", "camera_off", "camera_on", "events_dropped", "inventory", "local_policy",
		"media_finding", "media_off", "media_on", "microphone_off", "microphone_on", "output_audio_off", "output_audio_on",
		"policy_applied", "screen_off", "screen_on", "user_notified",
	}
}
