package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
)

// The device page's timeline: one row per app launch (its start, the
// notices about it, what the agent did, its stop), per camera or
// microphone use (on to off), and per other event.

// timelineKinds are the kinds a timeline row has, and its filter offers.
var timelineKinds = []string{"apps", "media", "network", "policy", "other"}

// timelineRow is one row of the device page's timeline.
type timelineRow struct {
	// Kind is one of timelineKinds; Type the first event's type.
	Kind, Type string
	// Start is the first event's time; End the stop's (or the media's
	// off), zero while it runs or for a single event.
	Start, End time.Time
	// Open is set for a launch or use whose end is not among the events.
	Open    bool
	AppID   string
	PID     int32
	Process string
	// Verdict is the app's verdict (the newest), Action what the agent
	// did about it ("warned", "blocked", "closed 3 processes").
	Verdict, Action string
	// Told says who was told what, one entry per notice.
	Told []string
	// Details say in words what the events report.
	Details []string
	// Flagged is set when the row reports something the policy objects
	// to.
	Flagged bool
	// Events are the types of the events of the row, oldest first.
	Events []string
}

// Types are the event types of a row, e.g. "app_started, user_notified, app_stopped".
func (r timelineRow) Types() string { return strings.Join(r.Events, ", ") }

// eventWords say what an event type records, in a few words.
var eventWords = map[string]string{
	"app_started": "started", "app_stopped": "stopped", "app_verdict_changed": "verdict changed", "app_blocked": "closed by vcguard",
	"user_notified": "user told", "policy_applied": "policy applied", "local_policy": "local policy", "browser_policy": "browser policies written",
	"app_connection": "servers and accounts", "browser_meeting": "call in the browser", "app_posture": "app settings",
	"media_finding": "camera or microphone finding", "events_dropped": "events dropped", "inventory": "inventory",
}

// Summary says what happened in the row, e.g. "started → user told →
// closed by vcguard → stopped".
func (r timelineRow) Summary() string {
	words := make([]string, 0, len(r.Events))
	for _, t := range r.Events {
		w, ok := eventWords[t]
		if !ok {
			w = strings.ReplaceAll(t, "_", " ")
		}
		if len(words) == 0 || words[len(words)-1] != w {
			words = append(words, w)
		}
	}
	return strings.Join(words, " → ")
}

// kindOf is the timeline kind of an event type.
func kindOf(typ string) string {
	switch typ {
	case "app_started", "app_stopped", "app_verdict_changed", "app_blocked", "user_notified", "app":
		return "apps"
	case "app_connection", "browser_meeting", "app_posture":
		return "network"
	case "policy_applied", "local_policy", "browser_policy":
		return "policy"
	}
	if strings.HasSuffix(typ, "_on") || strings.HasSuffix(typ, "_off") || typ == "media_finding" {
		return "media"
	}
	return "other"
}

// groupTimeline turns events (newest first, as read) into rows, newest
// first: an app instance's start, verdict changes, notices, enforcement
// and stop make one row; a media use's on and off one row.
func groupTimeline(evs []apitypes.Event, name func(string) string) []timelineRow {
	details := timeline(evs, name)
	type appKey struct {
		app string
		pid int32
	}
	var rows []timelineRow
	openApp := map[appKey]int{}   // a running instance's row
	lastApp := map[string]int{}   // the newest row of an app, for its notices
	openMedia := map[string]int{} // a use's row, by kind, device, pid
	for i := len(details) - 1; i >= 0; i-- {
		e := details[i]
		ev := decodeEvent(e.Detail)
		kind := kindOf(e.Type)
		row := -1
		switch e.Type {
		case "app_started", "app_stopped", "app_verdict_changed", "app_blocked":
			k := appKey{e.AppID, e.PID}
			if j, ok := openApp[k]; ok && e.Type != "app_started" {
				row = j
			}
			if row < 0 {
				rows = append(rows, timelineRow{Kind: kind, Type: e.Type, Start: e.Time, AppID: e.AppID, PID: e.PID, Process: e.Process, Open: e.Type != "app_stopped"})
				row = len(rows) - 1
				if e.Type != "app_stopped" {
					openApp[k] = row
				}
			}
			lastApp[e.AppID] = row
			r := &rows[row]
			inst := ev.GetApp().GetApp()
			if inst == nil {
				inst = ev.GetEnforcement().GetApp()
			}
			if inst != nil && inst.GetVerdict() != 0 {
				r.Verdict = string(policies.VerdictFromProto(inst.GetVerdict()))
			}
			switch e.Type {
			case "app_stopped":
				r.End, r.Open = e.Time, false
				delete(openApp, k)
			case "app_blocked":
				en := ev.GetEnforcement()
				r.Action = fmt.Sprintf("closed %d processes", len(en.GetKilled()))
				if len(en.GetKilled()) == 1 {
					r.Action = "closed 1 process"
				}
				if en.GetError() != "" {
					r.Action = "closing failed: " + en.GetError()
				}
			}
		case "user_notified":
			if j, ok := lastApp[e.AppID]; ok && e.AppID != "" {
				row = j
			} else {
				rows = append(rows, timelineRow{Kind: kind, Type: e.Type, Start: e.Time, AppID: e.AppID})
				row = len(rows) - 1
				lastApp[e.AppID] = row
			}
			r := &rows[row]
			n := ev.GetUserNotified()
			if v := n.GetVerdict(); v != 0 && r.Verdict == "" {
				r.Verdict = string(policies.VerdictFromProto(v))
			}
			if a := actionDone(string(policies.ActionFromProto(n.GetPolicyAction()))); a != "" && !strings.HasPrefix(r.Action, "clos") {
				r.Action = a
			}
			r.Told = append(r.Told, e.Told)
		default:
			if m := ev.GetMedia(); m != nil {
				u := m.GetUse()
				key := fmt.Sprint(u.GetKind(), "\x00", u.GetDevice(), "\x00", u.GetPid(), "\x00", u.GetSource())
				if j, ok := openMedia[key]; ok {
					row = j
				}
				if row < 0 || m.GetOn() {
					rows = append(rows, timelineRow{Kind: kind, Type: e.Type, Start: e.Time, AppID: e.AppID, PID: e.PID, Process: e.Process, Open: m.GetOn()})
					row = len(rows) - 1
					rows[row].Details = append(rows[row].Details, mediaWords(u.GetKind(), u.GetDevice()))
				}
				if m.GetOn() {
					openMedia[key] = row
				} else {
					rows[row].End, rows[row].Open = e.Time, false
					delete(openMedia, key)
				}
				break
			}
			rows = append(rows, timelineRow{Kind: kind, Type: e.Type, Start: e.Time, AppID: e.AppID, PID: e.PID, Process: e.Process})
			row = len(rows) - 1
			if v := ev.GetPolicyApplied().GetVersion(); v != 0 {
				rows[row].Details = append(rows[row].Details, fmt.Sprintf("version %d", v))
			}
		}
		r := &rows[row]
		r.Events = append(r.Events, e.Type)
		if e.Details != "" {
			r.Details = append(r.Details, e.Details)
		}
		r.Flagged = r.Flagged || e.Flagged
	}
	for i := range rows {
		if flaggedVerdict(rows[i].Verdict) {
			rows[i].Flagged = true
		}
	}
	slices.Reverse(rows)
	return rows
}

// mediaWords names a camera, microphone or screen use.
func mediaWords(kind, device string) string {
	switch kind {
	case "screen":
		return "screen shared"
	case "output_audio":
		return "computer sound recorded"
	}
	if device != "" {
		return kind + " " + device
	}
	return kind
}

// filterTimeline keeps the rows of kind ("" keeps all).
func filterTimeline(rows []timelineRow, kind string) []timelineRow {
	if kind == "" {
		return rows
	}
	out := rows[:0:0]
	for _, r := range rows {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// timelineCSV exports the device page's timeline as shown: the same
// events, rows and kind filter (?kind=).
// timelineEvents reads the timeline's kind filter and the device's
// newest events (at most timelineEvents and 1 MiB of them), for the device
// page and its export (what names it in errors). A bad kind or a failed
// read is answered here, and ok is false.
func (d *Dashboard) timelineEvents(w http.ResponseWriter, r *http.Request, deviceID, what string) (kind string, events admin.EventPage, ok bool) {
	kind = r.URL.Query().Get("kind")
	if kind != "" && !slices.Contains(timelineKinds, kind) {
		d.badQuery(w, what, &badParam{"kind", kind, "want one of " + strings.Join(timelineKinds, ", ")})
		return kind, events, false
	}
	events, err := d.svc().Events(r.Context(), admin.EventQuery{DeviceID: deviceID, Limit: timelineEvents, MaxBytes: maxRecentEventBytes})
	if err != nil {
		d.serverError(w, what, err)
		return kind, events, false
	}
	return kind, events, true
}

func (d *Dashboard) timelineCSV(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	dev, err := d.svc().DeviceRecord(r.Context(), r.PathValue("id"))
	if errors.Is(err, admin.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.serverError(w, "timeline export", err)
		return
	}
	kind, events, ok := d.timelineEvents(w, r, dev.ID, "timeline export")
	if !ok {
		return
	}
	rows := [][]string{{"start", "end", "kind", "summary", "events", "app_id", "pid", "process", "verdict", "action", "told", "details", "flagged"}}
	for _, t := range filterTimeline(groupTimeline(events.Events, d.svc().AppName), kind) {
		end := ""
		if !t.End.IsZero() {
			end = t.End.UTC().Format(time.RFC3339)
		}
		pid := ""
		if t.PID != 0 {
			pid = fmt.Sprint(t.PID)
		}
		rows = append(rows, []string{t.Start.UTC().Format(time.RFC3339), end, t.Kind, t.Summary(), t.Types(), t.AppID, pid, t.Process,
			t.Verdict, t.Action, strings.Join(t.Told, "; "), strings.Join(t.Details, "; "), fmt.Sprint(t.Flagged)})
	}
	d.writeCSV(w, r, s, "timeline-"+dev.ID+".csv", rows)
}
