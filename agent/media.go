package agent

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/agent/notify"
	"github.com/vcguard/vcguard/agent/proctable"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/state"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// handleMedia takes the complete set of uses now: new ones are attributed
// to the app they belong to and recorded as on, gone ones as off, and the
// findings are checked.
func (a *Agent) handleMedia(ctx context.Context, uses []devices.Use, now time.Time) error {
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
		if inst, ok := a.apps.Attribute(u.Ancestry); ok && u.IsCapture() {
			delete(a.lastUse, inst.Key())
			delete(a.leftRunning, inst.Key())
			if inst.App.Category == policies.CategoryMeeting {
				a.watchRecordings(ctx, inst)
			}
		}
		msg := mediaProto(u)
		a.cfg.Logger.Info("device in use", "kind", u.Reported(), "pid", u.PID, "process", u.Process, "app", msg.GetAppId(), "source", u.Source)
		a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{Use: msg, On: true}}})
		if u.App != nil && u.App.Category == policies.CategoryBrowser && u.IsCapture() {
			a.browserSites(ctx, now, u)
		}
	}
	for _, u := range d.Off {
		msg := mediaProto(u)
		a.cfg.Logger.Info("device released", "kind", u.Reported(), "pid", u.PID, "app", msg.GetAppId())
		a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{Use: msg, On: false}}})
		if a.cfg.Notifier != nil {
			for kind := range a.mediaReported[u.Key()] {
				a.cfg.Notifier.Clear(mediaNoticeKey(u.Key(), kind))
			}
		}
		delete(a.mediaReported, u.Key())
		a.forgetSites(u.Key())
		if inst, ok := a.apps.Attribute(u.Ancestry); ok && u.IsCapture() && inst.App.Category == policies.CategoryMeeting {
			a.lastUse[inst.Key()] = now
			if !a.capturing(inst.Key()) {
				a.stopRecordingWatch(inst.Key())
			}
		}
	}
	return a.mediaFindings(now)
}

// capturing reports whether the instance k holds a camera or microphone.
func (a *Agent) capturing(k procwatch.Key) bool {
	for _, u := range a.media.Uses() {
		if inst, ok := a.apps.Attribute(u.Ancestry); ok && inst.Key() == k && u.IsCapture() {
			return true
		}
	}
	return false
}

// mediaFindings records, once per use, what the policies in force find
// wrong with the uses going on (policies.MediaInForce.Evaluate): a
// forbidden or unverified app, a process of no catalog app, a device left
// on with no meeting app running.
func (a *Agent) mediaFindings(now time.Time) error {
	rules := policies.MediaRulesInForce(a.policies())
	meeting := a.apps.MeetingRunning()
	for _, u := range a.media.Uses() {
		subject := policies.MediaSubject{Capture: u.IsCapture(), Screen: u.ScreenShare, Output: u.Monitor, Since: u.Since}
		if u.App != nil {
			subject.AppID, subject.Category = u.App.ID, u.App.Category
			if inst, ok := a.apps.Attribute(u.Ancestry); ok {
				subject.AppVerdict = a.judged[inst.Key()].finding.Verdict
			}
		}
		inst, attributed := a.apps.Attribute(u.Ancestry)
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
			a.cfg.Logger.Warn("camera/microphone finding", "finding", f.Kind, "kind", u.Reported(), "pid", u.PID, "app", subject.AppID, "action", f.Action)
			ev := &vcguardv1.MediaFinding{Use: mediaProto(u), Kind: f.Kind.Proto(), PolicyAction: f.Action.Proto()}
			a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_MediaFinding{MediaFinding: ev}})
			var holder *state.Instance
			if attributed && u.App != nil {
				holder = &inst
			}
			a.actOnMedia(mediaNoticeKey(u.Key(), f.Kind), f, u.Reported(), u.PID, u.Process, holder)
		}
	}
	a.leftRunningFindings(rules, now)
	return a.flush()
}

// leftRunningFindings records, once per idle period, the meeting apps
// still running longer than the policy allows after their last camera or
// microphone use (policies.MediaInForce.EvaluateLeftRunning).
func (a *Agent) leftRunningFindings(rules policies.MediaInForce, now time.Time) {
	if len(a.lastUse) == 0 {
		return
	}
	inUse := map[procwatch.Key]bool{}
	for _, u := range a.media.Uses() {
		if inst, ok := a.apps.Attribute(u.Ancestry); ok && u.IsCapture() {
			inUse[inst.Key()] = true
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(a.lastUse), procwatch.CompareKeys) {
		inst, ok := a.apps.Instance(k)
		if !ok || a.leftRunning[k] {
			continue
		}
		f, ok := rules.EvaluateLeftRunning(a.lastUse[k], inUse[k], now)
		if !ok {
			continue
		}
		a.leftRunning[k] = true
		a.cfg.Logger.Warn("meeting app left running", "app", inst.App.ID, "pid", inst.Process.PID, "last_use", a.lastUse[k])
		use := &vcguardv1.MediaUse{Pid: inst.Process.PID, Process: inst.Process.Exe, AppId: inst.App.ID, Category: string(inst.App.Category),
			Since: timestamppb.New(a.lastUse[k])}
		ev := &vcguardv1.MediaFinding{Use: use, Kind: f.Kind.Proto(), PolicyAction: f.Action.Proto()}
		a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_MediaFinding{MediaFinding: ev}})
		a.actOnMedia(mediaNoticeKey(noticeKey(k), f.Kind), f, "", inst.Process.PID, inst.Process.Exe, &inst)
	}
}

// mediaNoticeKey identifies the notice about one finding of one use (or,
// for left_running, of one instance).
func mediaNoticeKey(use string, kind policies.MediaFindingKind) string {
	return "media/" + use + "/" + string(kind)
}

// actOnMedia carries out the action of a camera, microphone or screen
// finding: warn and block tell the person at the keyboard (the owner of
// the process using the device) which app or process uses which device
// and what to do; block also closes the app holding the device, when it
// is a catalog app whose executable proves it (never a process of no
// catalog app, which may be anything: the policy refuses block for those).
func (a *Agent) actOnMedia(key string, f policies.MediaFinding, device devices.Kind, pid int32, process string, holder *state.Instance) {
	if f.Action != policies.ActionWarn && f.Action != policies.ActionBlock {
		return
	}
	if a.cfg.Notifier != nil {
		n := notify.Notice{
			Key: key, Action: f.Action, MediaFinding: f.Kind, DeviceKind: string(device), PID: int(pid),
			Process: proctable.BaseName(process),
		}
		if holder != nil {
			j := a.judged[holder.Key()]
			n.AppID, n.AppName, n.Verdict = holder.App.ID, holder.App.Name, j.finding.Verdict
			n.Alternative, n.Note, n.InfoURL = j.finding.Alternative, j.finding.Note, j.finding.InfoURL
			if alt, ok := a.cfg.Catalog.App(j.finding.Alternative); ok {
				n.AlternativeName = alt.Name
			}
			if f.Action == policies.ActionBlock && j.finding.Action != policies.ActionBlock {
				n.Grace = policies.DefaultBlockGrace // a.block's
			}
		}
		a.cfg.Notifier.Notify(n)
	}
	if f.Action != policies.ActionBlock || holder == nil {
		return
	}
	if a.judged[holder.Key()].finding.Action == policies.ActionBlock {
		return // the app's own finding already closes it
	}
	a.block(*holder, policies.DefaultBlockGrace)
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
