package policies

import "time"

// MediaFindingKind names what the policy finds wrong with a camera or
// microphone use.
type MediaFindingKind string

const (
	// MediaUnknownApp: a process of no catalog app uses the device.
	MediaUnknownApp MediaFindingKind = "unknown_app"
	// MediaForbiddenApp: a forbidden tool uses it.
	MediaForbiddenApp MediaFindingKind = "forbidden_app"
	// MediaUnverifiedApp: a look-alike of a catalog tool uses it.
	MediaUnverifiedApp MediaFindingKind = "unverified_app"
	// MediaLeftOn: the device stayed in use, with no meeting app running,
	// for longer than the policy's idle time.
	MediaLeftOn MediaFindingKind = "left_on"
	// MediaScreenShare: a process shares the screen (a screen cast).
	MediaScreenShare MediaFindingKind = "screen_share"
	// MediaOutputRecording: a process records what the computer plays
	// (an output's monitor source): the other side of a call.
	MediaOutputRecording MediaFindingKind = "output_recording"
	// MediaLeftRunning: a meeting app still runs longer than the policy
	// allows after its last camera or microphone use: the meeting is
	// over, the app was not closed.
	MediaLeftRunning MediaFindingKind = "left_running"
)

// MediaFindingKinds lists every kind, in a stable order.
var MediaFindingKinds = []MediaFindingKind{MediaUnknownApp, MediaForbiddenApp, MediaUnverifiedApp, MediaLeftOn, MediaScreenShare, MediaOutputRecording, MediaLeftRunning}

// MediaSubject is what the evaluator knows of one device use.
type MediaSubject struct {
	// Capture is set for a camera or a microphone.
	Capture bool
	// Screen is set for a screen cast, Output for a recording of what the
	// computer plays; neither is a camera or a microphone.
	Screen, Output bool
	// AppID is the catalog app the process belongs to, "" for none.
	AppID string
	// Category is the app's category ("" when AppID is): a browser's use
	// is a call in a web page.
	Category Category
	// AppVerdict is the verdict of the app instance the use belongs to, ""
	// when none is known.
	AppVerdict Verdict
	// Since is when the use began.
	Since time.Time
}

// MediaFinding is one thing the policy finds wrong with a use.
type MediaFinding struct {
	Kind   MediaFindingKind
	Action Action
}

// MediaInForce is what all the policies in force (the central one and the
// local drop-ins) say together about camera and microphone use: the
// strongest action of any, the shortest idle time any sets.
type MediaInForce struct {
	ForbiddenApps, UnverifiedApps, UnknownApps Action
	ScreenShare, OutputRecording               Action
	// Idle is how long a device may stay on with no meeting app; 0: no
	// limit.
	Idle time.Duration
	// LeftRunning is how long a meeting app may run on after its last
	// camera or microphone use; 0: no limit.
	LeftRunning time.Duration
}

// MediaRulesInForce combines the media rules of ps (nil policies and
// policies without media rules are skipped) over the built-in defaults.
func MediaRulesInForce(ps []*Policy) MediaInForce {
	m := MediaInForce{
		ForbiddenApps: DefaultMediaForbiddenAction, UnverifiedApps: DefaultMediaUnverifiedAction, UnknownApps: DefaultMediaUnknownAction,
		ScreenShare: DefaultScreenShareAction, OutputRecording: DefaultOutputRecordingAction,
	}
	stronger := func(cur, a Action) Action {
		if actionRank[a] > actionRank[cur] {
			return a
		}
		return cur
	}
	for _, p := range ps {
		if p == nil || p.Media == nil {
			continue
		}
		r := p.Media
		m.ForbiddenApps = stronger(m.ForbiddenApps, r.ForbiddenApps)
		m.UnverifiedApps = stronger(m.UnverifiedApps, r.UnverifiedApps)
		m.UnknownApps = stronger(m.UnknownApps, r.UnknownApps)
		m.ScreenShare = stronger(m.ScreenShare, r.ScreenShare)
		m.OutputRecording = stronger(m.OutputRecording, r.OutputRecording)
		m.Idle = shortest(m.Idle, time.Duration(r.IdleMinutes)*time.Minute)
		m.LeftRunning = shortest(m.LeftRunning, time.Duration(r.LeftRunningMinutes)*time.Minute)
	}
	return m
}

// shortest returns the shorter of two limits, 0 being none.
func shortest(cur, d time.Duration) time.Duration {
	if d > 0 && (cur == 0 || d < cur) {
		return d
	}
	return cur
}

// Evaluate returns the findings of one use at now: who uses the device
// (a process of no catalog app, a forbidden tool, a look-alike), and
// whether it was left on. meeting tells whether a meeting app runs: a
// device on during a meeting is not left on, nor is one a browser or a
// multi-service host uses (a call in a web page).
func (m MediaInForce) Evaluate(u MediaSubject, meeting bool, now time.Time) []MediaFinding {
	switch {
	case u.Screen:
		return []MediaFinding{{MediaScreenShare, m.ScreenShare}}
	case u.Output:
		return []MediaFinding{{MediaOutputRecording, m.OutputRecording}}
	case !u.Capture:
		return nil
	}
	var out []MediaFinding
	switch {
	case u.AppID == "":
		out = append(out, MediaFinding{MediaUnknownApp, m.UnknownApps})
	case u.AppVerdict == VerdictForbidden:
		out = append(out, MediaFinding{MediaForbiddenApp, m.ForbiddenApps})
	case u.AppVerdict == VerdictUnverified:
		out = append(out, MediaFinding{MediaUnverifiedApp, m.UnverifiedApps})
	}
	if m.Idle > 0 && !meeting && !u.Category.CallsInside() && now.Sub(u.Since) >= m.Idle {
		out = append(out, MediaFinding{MediaLeftOn, ActionWarn})
	}
	return out
}

// EvaluateLeftRunning says whether a meeting app that last used the camera
// or microphone at lastUse, and uses neither now, has been left running at
// now: a warning, so the employee closes it.
func (m MediaInForce) EvaluateLeftRunning(lastUse time.Time, inUse bool, now time.Time) (MediaFinding, bool) {
	if m.LeftRunning <= 0 || inUse || lastUse.IsZero() || now.Sub(lastUse) < m.LeftRunning {
		return MediaFinding{}, false
	}
	return MediaFinding{MediaLeftRunning, ActionWarn}, true
}
