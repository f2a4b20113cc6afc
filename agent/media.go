package agent

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MediaSource reports the cameras and microphones in use (*devices.Watcher).
type MediaSource interface {
	Run(ctx context.Context, emit func([]devices.Use)) error
}

// mediaState is one camera or microphone use the agent knows of.
type mediaState struct {
	use devices.Use
	msg *vcguardv1.MediaUse
	// findings already recorded for this use.
	reported map[string]bool
}

// mediaPolicy is what the policies in force say about camera and
// microphone use: the strongest action of any policy, the shortest idle
// time.
func (a *Agent) mediaPolicy() (forbidden, unverified, unknown policies.Action, idle time.Duration) {
	forbidden, unverified, unknown = policies.DefaultMediaForbiddenAction, policies.DefaultMediaUnverifiedAction, policies.DefaultMediaUnknownAction
	stronger := func(cur, a policies.Action) policies.Action {
		if actionRank(a) > actionRank(cur) {
			return a
		}
		return cur
	}
	ps := []*policies.Policy{a.policy}
	for _, f := range a.local {
		ps = append(ps, f.Policy)
	}
	for _, p := range ps {
		if p == nil || p.Media == nil {
			continue
		}
		m := p.Media
		forbidden, unverified, unknown = stronger(forbidden, m.ForbiddenApps), stronger(unverified, m.UnverifiedApps), stronger(unknown, m.UnknownApps)
		if d := time.Duration(m.IdleMinutes) * time.Minute; d > 0 && (idle == 0 || d < idle) {
			idle = d
		}
	}
	return forbidden, unverified, unknown, idle
}

func actionRank(a policies.Action) int {
	switch a {
	case policies.ActionBlock:
		return 3
	case policies.ActionWarn:
		return 2
	case policies.ActionMonitor:
		return 1
	}
	return 0
}

// handleMedia takes the complete set of uses now: new ones are attributed
// to an app and recorded as on, gone ones as off, and findings are checked.
func (a *Agent) handleMedia(uses []devices.Use, now time.Time) error {
	current := make(map[string]bool, len(uses))
	for _, u := range uses {
		k := u.Key()
		current[k] = true
		if _, known := a.media[k]; known {
			continue
		}
		st := &mediaState{use: u, msg: a.mediaMessage(u, now), reported: map[string]bool{}}
		a.cfg.Logger.Info("device in use", "kind", u.Kind, "pid", u.PID, "process", u.Process, "app", st.msg.GetAppId(), "source", u.Source)
		if err := a.record(now, &vcguardv1.Event{Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{Use: st.msg, On: true}}}); err != nil {
			return err
		}
		a.media[k] = st
	}
	for _, k := range slices.Sorted(mapKeys(a.media)) {
		if current[k] {
			continue
		}
		st := a.media[k]
		a.cfg.Logger.Info("device released", "kind", st.use.Kind, "pid", st.use.PID, "app", st.msg.GetAppId())
		if err := a.record(now, &vcguardv1.Event{Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{Use: st.msg, On: false}}}); err != nil {
			return err
		}
		delete(a.media, k)
	}
	return a.mediaFindings(now)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// mediaMessage builds the report of a use, attributed to the app the
// process belongs to.
func (a *Agent) mediaMessage(u devices.Use, now time.Time) *vcguardv1.MediaUse {
	msg := &vcguardv1.MediaUse{
		Kind: string(u.Kind), Device: u.Device, Pid: u.PID, Process: u.Process, Source: string(u.Source),
		Session: u.Session, Since: timestamppb.New(now),
	}
	if msg.Session == "" && u.UID >= 0 {
		msg.Session = "uid " + strconv.Itoa(u.UID)
	}
	if u.PID > 0 {
		if at := a.attribute(u.PID, a.cfg.Parent); at.Instance != nil {
			msg.AppId = at.Instance.GetAppId()
			if at.App != nil {
				msg.Category = string(at.App.Category)
			}
		}
	}
	return msg
}

// mediaFindings records, once per use, the uses the policy cares about:
// by a forbidden or unverified app, by a process of no catalog app, or a
// device left on with no meeting app running for longer than the policy's
// idle time. Screen casts and output monitors are no camera or microphone.
func (a *Agent) mediaFindings(now time.Time) error {
	forbidden, unverified, unknown, idle := a.mediaPolicy()
	meeting := false
	for _, inst := range a.running {
		if app, ok := a.cfg.Catalog.App(inst.GetAppId()); ok && app.Category == policies.CategoryMeeting {
			meeting = true
		}
	}
	for _, k := range slices.Sorted(mapKeys(a.media)) {
		st := a.media[k]
		if !st.use.IsCapture() {
			continue
		}
		var finding string
		var action policies.Action
		inst := a.instanceByApp(st.msg)
		switch {
		case st.msg.GetAppId() == "":
			finding, action = "unknown_app", unknown
		case inst != nil && inst.GetVerdict() == vcguardv1.Verdict_VERDICT_FORBIDDEN:
			finding, action = "forbidden_app", forbidden
		case inst != nil && inst.GetVerdict() == vcguardv1.Verdict_VERDICT_UNVERIFIED:
			finding, action = "unverified_app", unverified
		}
		if finding != "" && !st.reported[finding] {
			if err := a.recordMediaFinding(now, st, finding, action); err != nil {
				return err
			}
		}
		browserCall := st.msg.GetCategory() == string(policies.CategoryBrowser)
		if idle > 0 && !meeting && !browserCall && now.Sub(st.msg.GetSince().AsTime()) >= idle && !st.reported["left_on"] {
			if err := a.recordMediaFinding(now, st, "left_on", policies.ActionWarn); err != nil {
				return err
			}
		}
	}
	return nil
}

// instanceByApp returns the running instance a use was attributed to.
func (a *Agent) instanceByApp(u *vcguardv1.MediaUse) *vcguardv1.AppInstance {
	if u.GetAppId() == "" || u.GetPid() <= 0 {
		return nil
	}
	if at := a.attribute(u.GetPid(), a.cfg.Parent); at.Instance != nil {
		return at.Instance
	}
	return nil
}

func (a *Agent) recordMediaFinding(now time.Time, st *mediaState, finding string, action policies.Action) error {
	a.cfg.Logger.Warn("camera/microphone finding", "finding", finding, "kind", st.use.Kind, "pid", st.use.PID, "app", st.msg.GetAppId(), "action", action)
	ev := &vcguardv1.MediaFinding{Use: proto.Clone(st.msg).(*vcguardv1.MediaUse), Finding: finding, Action: string(action)}
	if err := a.record(now, &vcguardv1.Event{Detail: &vcguardv1.Event_MediaFinding{MediaFinding: ev}}); err != nil {
		return fmt.Errorf("record media finding: %w", err)
	}
	st.reported[finding] = true
	return nil
}

// mediaUses returns the uses for the inventory.
func (a *Agent) mediaUses() []*vcguardv1.MediaUse {
	var out []*vcguardv1.MediaUse
	for _, k := range slices.Sorted(mapKeys(a.media)) {
		out = append(out, a.media[k].msg)
	}
	return out
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
