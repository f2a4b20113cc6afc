package agent

// The outbox edge: what the pipeline decided becomes protobuf events here,
// queued in order and recorded in the outbox.

import (
	"fmt"
	"time"

	"github.com/vcguard/vcguard/agent/state"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// emit queues an event that happened at at; flush records it. The typed
// fields (actions, findings) are written with the deprecated strings
// beside them for servers of the last release.
func (a *Agent) emit(at time.Time, ev *vcguardv1.Event) {
	ev.Time = timestamppb.New(at)
	policies.FillDeprecated(ev)
	if len(a.queue) >= maxQueued {
		a.queue[0] = nil
		a.queue = a.queue[1:]
		a.lost++
		if a.lost == 1 || a.lost%1000 == 0 {
			a.cfg.Logger.Error("events lost: the outbox has refused them for long", "lost", a.lost)
		}
	}
	a.queue = append(a.queue, ev)
}

// flush records the queued events in the outbox, in order, and stops at
// the first that cannot be; it and the later ones stay queued.
func (a *Agent) flush() error {
	for len(a.queue) > 0 {
		if err := a.out.Append(a.queue[0]); err != nil {
			return fmt.Errorf("record %s event (%d waiting): %w", vcguardv1.EventType(a.queue[0]), len(a.queue), err)
		}
		a.queue[0] = nil
		a.queue = a.queue[1:]
	}
	a.queue = nil
	return nil
}

func appEvent(kind vcguardv1.AppEvent_Kind, inst *vcguardv1.AppInstance) *vcguardv1.Event {
	return &vcguardv1.Event{Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: kind, App: inst}}}
}

// instanceProto is the report of an instance with its judgement. Each
// call builds a new message: what is queued is never changed afterwards
// (the uplink marshals it on its own goroutine).
func (a *Agent) instanceProto(inst state.Instance) *vcguardv1.AppInstance {
	j := a.judged[inst.Key()]
	return &vcguardv1.AppInstance{
		AppId: inst.App.ID, Name: inst.App.Name, Pid: inst.Process.PID, Started: timestamppb.New(inst.Process.Started), Exe: inst.Process.Exe,
		Version: inst.Identity.Version, Verified: inst.Identity.Verified, Identity: inst.Identity.Detail,
		Verdict: j.finding.Verdict.Proto(), PolicyAction: j.finding.Action.Proto(), PolicyVersion: j.policyVersion,
	}
}

// mediaProto is the report of a device use, with the app it belongs to.
func mediaProto(u state.Use) *vcguardv1.MediaUse {
	msg := &vcguardv1.MediaUse{
		Kind: string(u.Reported()), Device: u.Device, Pid: u.PID, Process: u.Process, Source: string(u.Source),
		Session: u.SessionName(), Since: timestamppb.New(u.Since),
	}
	if u.App != nil {
		msg.AppId, msg.Category = u.App.ID, string(u.App.Category)
	}
	return msg
}

// mediaProtos are the uses going on, for the inventory.
func (a *Agent) mediaProtos() []*vcguardv1.MediaUse {
	var out []*vcguardv1.MediaUse
	for _, u := range a.media.Uses() {
		out = append(out, mediaProto(u))
	}
	return out
}
