package agent

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/state"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// handle takes a process report through the pipeline: the state says
// which instances stopped and started; the new ones are identified and
// judged; the changes are recorded (the first report as the inventory)
// and the findings acted on. An event that cannot be recorded waits, with
// every later one, and is recorded first by the next call.
func (a *Agent) handle(ctx context.Context, ch procwatch.Changes) error {
	if ch.Empty() && !ch.Full {
		return a.flush()
	}
	now := time.Now()
	return a.applyApps(ctx, now, a.apps.Apply(ch, now))
}

// judgeHeld judges the possible launchers that have been held long
// enough (state.LauncherWait) and did not exec the app meanwhile.
func (a *Agent) judgeHeld(ctx context.Context) error {
	now := time.Now()
	return a.applyApps(ctx, now, a.apps.Due(now))
}

// applyApps takes what changed among the app instances the rest of the
// way: identification, judgement, events, actions.
func (a *Agent) applyApps(ctx context.Context, now time.Time, d state.AppDelta) error {
	for _, inst := range d.Stopped {
		a.cfg.Logger.Info("app stopped", "app", inst.App.ID, "pid", inst.Process.PID)
		a.emit(now, appEvent(vcguardv1.AppEvent_KIND_STOPPED, a.instanceProto(inst)))
		a.forget(inst.Key())
	}
	started := make([]state.Instance, 0, len(d.Started))
	for _, inst := range d.Started {
		inst.Identity = a.cfg.Identifier.Identify(ctx, inst.Process, inst.App)
		a.apps.SetIdentity(inst.Key(), inst.Identity)
		a.judged[inst.Key()] = a.judge(inst)
		started = append(started, inst)
	}
	if d.Inventory {
		apps := make([]*vcguardv1.AppInstance, 0, len(started))
		for _, inst := range started {
			apps = append(apps, a.instanceProto(inst))
		}
		slices.SortFunc(apps, func(x, y *vcguardv1.AppInstance) int {
			return cmp.Or(cmp.Compare(x.GetPid(), y.GetPid()), x.GetStarted().AsTime().Compare(y.GetStarted().AsTime()))
		})
		a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_Inventory{Inventory: &vcguardv1.Inventory{Apps: apps, Media: a.mediaProtos()}}})
		for _, inst := range started {
			a.act(inst, a.judged[inst.Key()].finding)
		}
		a.readSetups(ctx, now, started)
		a.readPostures(ctx, now, started)
		return a.flush()
	}
	for _, inst := range started {
		j := a.judged[inst.Key()]
		if inst.CarriedOn {
			a.cfg.Logger.Info("app carried on by its helper", "app", inst.App.ID, "pid", inst.Process.PID)
		} else {
			a.cfg.Logger.Info("app started", "app", inst.App.ID, "pid", inst.Process.PID, "version", inst.Identity.Version,
				"verified", inst.Identity.Verified, "verdict", j.finding.Verdict)
		}
		a.emit(now, appEvent(vcguardv1.AppEvent_KIND_STARTED, a.instanceProto(inst)))
		a.act(inst, j.finding)
	}
	a.readSetups(ctx, now, started)
	a.readPostures(ctx, now, started)
	return a.flush()
}

// judge evaluates an instance under the policies in force: the central
// policy and the local drop-ins combine to the strictest finding
// (policies.EvaluateStrictest).
func (a *Agent) judge(inst state.Instance) judgement {
	d := policies.Detection{AppID: inst.App.ID, Verified: inst.Identity.Verified, Version: inst.Identity.Version, Group: a.cfg.Group}
	return judgement{finding: policies.EvaluateStrictest(a.policies(), d), policyVersion: a.policyVersion}
}

// rejudge evaluates every running instance again under the policies in
// force, records the verdicts that changed and acts on them.
func (a *Agent) rejudge(now time.Time) {
	for _, inst := range a.apps.Instances() {
		prev := a.judged[inst.Key()]
		j := a.judge(inst)
		a.judged[inst.Key()] = j
		if j.finding.Verdict == prev.finding.Verdict && j.finding.Action == prev.finding.Action {
			continue
		}
		a.emit(now, appEvent(vcguardv1.AppEvent_KIND_VERDICT_CHANGED, a.instanceProto(inst)))
		a.act(inst, j.finding)
	}
	a.rejudgeSetups(now)
	a.rejudgePostures(now)
	a.applyBrowserPolicy(now)
}

// attribute returns the instance the process pid belongs to: itself, one
// of its helpers, or an ancestor of either.
func (a *Agent) attribute(pid int32) (state.Instance, bool) {
	return a.apps.Attribute(a.ancestry(pid))
}

// maxAncestry bounds the walk up the process tree.
const maxAncestry = 32

// ancestry returns pid and its ancestors, nearest first, as far as they
// can be read (cfg.Parent: the OS's process table).
func (a *Agent) ancestry(pid int32) []int32 {
	if pid <= 0 {
		return nil
	}
	out := []int32{pid}
	for len(out) < maxAncestry && pid > 1 {
		ppid, err := a.cfg.Parent(pid)
		if err != nil || ppid == pid || ppid <= 0 {
			break
		}
		out = append(out, ppid)
		pid = ppid
	}
	return out
}
