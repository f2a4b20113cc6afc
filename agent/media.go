package agent

import (
	"slices"
	"time"

	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/agent/state"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// handleMedia takes the complete set of uses now: new ones are attributed
// to the app they belong to and recorded as on, gone ones as off, and the
// findings are checked.
func (a *Agent) handleMedia(uses []devices.Use, now time.Time) error {
	current := make([]state.Use, 0, len(uses))
	for _, u := range uses {
		su := state.Use{Use: u, Since: now}
		if !a.media.Known(u.Key()) {
			su.Ancestry = a.ancestry(u.PID)
			if inst, ok := a.apps.Attribute(su.Ancestry); ok {
				su.App = inst.App
			}
		}
		current = append(current, su)
	}
	d := a.media.Apply(current)
	for _, u := range d.On {
		msg := mediaProto(u)
		a.cfg.Logger.Info("device in use", "kind", u.Kind, "pid", u.PID, "process", u.Process, "app", msg.GetAppId(), "source", u.Source)
		a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{Use: msg, On: true}}})
	}
	for _, u := range d.Off {
		msg := mediaProto(u)
		a.cfg.Logger.Info("device released", "kind", u.Kind, "pid", u.PID, "app", msg.GetAppId())
		a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{Use: msg, On: false}}})
		delete(a.mediaReported, u.Key())
	}
	return a.mediaFindings(now)
}

// mediaFindings records, once per use, what the policies in force find
// wrong with the uses going on (policies.MediaInForce.Evaluate): a
// forbidden or unverified app, a process of no catalog app, a device left
// on with no meeting app running.
func (a *Agent) mediaFindings(now time.Time) error {
	rules := policies.MediaRulesInForce(a.policies())
	meeting := a.apps.MeetingRunning()
	for _, u := range a.media.Uses() {
		subject := policies.MediaSubject{Capture: u.IsCapture(), Since: u.Since}
		if u.App != nil {
			subject.AppID, subject.Category = u.App.ID, u.App.Category
			if inst, ok := a.apps.Attribute(u.Ancestry); ok {
				subject.AppVerdict = a.judged[inst.Key()].finding.Verdict
			}
		}
		for _, f := range rules.Evaluate(subject, meeting, now) {
			reported := a.mediaReported[u.Key()]
			if reported[f.Kind] {
				continue
			}
			if reported == nil {
				reported = map[policies.MediaFindingKind]bool{}
				a.mediaReported[u.Key()] = reported
			}
			reported[f.Kind] = true
			a.cfg.Logger.Warn("camera/microphone finding", "finding", f.Kind, "kind", u.Kind, "pid", u.PID, "app", subject.AppID, "action", f.Action)
			ev := &vcguardv1.MediaFinding{Use: mediaProto(u), Kind: f.Kind.Proto(), PolicyAction: f.Action.Proto()}
			a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_MediaFinding{MediaFinding: ev}})
		}
	}
	return a.flush()
}

// IPCMedia converts the uses a notifier sees for its report to the service
// (localipc.Client.Media), sorted. Screen casts and output monitors are left out
// (they are neither camera nor microphone), as are uses a report cannot
// carry (an empty device, an over-long process path…); skipped counts them.
// At most localipc.MaxMediaUses are kept.
func IPCMedia(us []devices.Use) (ms []localipc.MediaUse, skipped int) {
	us = slices.Clone(us)
	devices.Sort(us)
	ms = []localipc.MediaUse{}
	for _, u := range us {
		m := localipc.MediaUse{Kind: string(u.Kind), Device: u.Device, PID: u.PID, Process: u.Process, Source: string(u.Source)}
		if !u.IsCapture() || len(ms) == localipc.MaxMediaUses || !m.Valid() {
			skipped++
			continue
		}
		if n := len(ms); n > 0 && ms[n-1] == m {
			continue // the same process seen under two uids: one use
		}
		ms = append(ms, m)
	}
	return ms, skipped
}

// ReportedMedia converts a notifier's media report into uses. The uid and
// the session come from s, which the OS vouched for, never from the report.
func ReportedMedia(s localipc.Session, ms []localipc.MediaUse) []devices.Use {
	out := make([]devices.Use, 0, len(ms))
	for _, m := range ms {
		out = append(out, devices.Use{
			Kind: devices.Kind(m.Kind), Device: m.Device, PID: m.PID, Process: m.Process,
			UID: s.UID, Session: s.Owner(), Source: devices.Source(m.Source),
		})
	}
	return out
}
