package agent

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/vcguard/vcguard/agent/enforce"
	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/agent/notify"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/state"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// Enforcer closes the apps a block rule forbids (*enforce.Enforcer).
type Enforcer interface {
	Schedule(t enforce.Target, grace time.Duration, done func(enforce.Result))
	Cancel(k procwatch.Key)
}

// blockResult is an enforcement result on its way into the Run loop.
type blockResult struct {
	inst  *vcguardv1.AppInstance
	grace time.Duration
	res   enforce.Result
}

// act carries out the action of a new or changed finding about an
// instance: warn tells the user; block tells the user and schedules the
// app's closing after the grace period; anything else (monitor, an
// approved app) cancels a pending closing. An allow-listed app is never
// blocked: the policy refuses block for approved and restricted tools,
// and only the instance's own process tree is a target.
func (a *Agent) act(inst state.Instance, f policies.Finding) {
	k := inst.Key()
	if f.Action == policies.ActionWarn || f.Action == policies.ActionBlock {
		a.tell(inst, f)
	} else if a.cfg.Notifier != nil {
		// Nothing to tell any more (approved now, or monitor only): a
		// notifier that connects later is not shown the old notice.
		a.cfg.Notifier.Clear(noticeKey(k))
	}
	if f.Action != policies.ActionBlock {
		if a.cfg.Enforcer != nil {
			a.cfg.Enforcer.Cancel(k)
		}
		return
	}
	a.block(inst, f.BlockGrace)
}

// block schedules the closing of an instance after grace, if its
// executable proves it is the app; else it records that nothing was
// closed and why.
func (a *Agent) block(inst state.Instance, grace time.Duration) {
	k := inst.Key()
	if a.cfg.Enforcer == nil {
		a.cfg.Logger.Warn("block rule, but enforcement is off; only warned", "app", inst.App.ID, "pid", inst.Process.PID)
		return
	}
	snapshot := a.instanceProto(inst)
	if !a.exeIdentifies(inst) {
		// Only the process's name (comm, which any process may set) says
		// it is the app: a python or shell that renamed itself. It is
		// reported and the user warned, but nothing is closed.
		a.cfg.Logger.Warn("block rule, but only the process's name says it is the app, not its executable; only warned",
			"app", inst.App.ID, "pid", inst.Process.PID, "exe", inst.Process.Exe)
		err := fmt.Errorf("%w: its executable %q is not %s's, only its process name is", enforce.ErrNotTarget, inst.Process.Exe, inst.App.ID)
		a.logErr("recording an enforcement", a.recordBlock(blockResult{inst: snapshot, grace: grace, res: enforce.Result{Err: err}}))
		return
	}
	a.cfg.Logger.Info("app will be closed", "app", inst.App.ID, "pid", inst.Process.PID, "grace", grace)
	a.cfg.Enforcer.Schedule(enforce.Target{Key: k, AppID: inst.App.ID, Exe: inst.Process.Exe}, grace, func(r enforce.Result) {
		select {
		case a.blocked <- blockResult{inst: snapshot, grace: grace, res: r}:
		case <-a.stopped:
		}
	})
}

// exeIdentifies reports whether the instance's executable, rather than
// the name the process gave itself, makes it the app: its identity was
// verified from the executable file, or the executable's base name is
// one of the app's catalog executables (an unverified look-alike: a copy
// in Downloads). A process is matched to an app by its comm too (a
// process may rename itself), which is enough to report it and to warn,
// never to close it: any program can call itself zoom.
func (a *Agent) exeIdentifies(inst state.Instance) bool {
	if inst.Identity.Verified {
		return true
	}
	exe := strings.TrimSuffix(inst.Process.Exe, " (deleted)") // Linux: a binary replaced since
	if exe == "" {
		return false
	}
	app, ok := a.matcher.Match(filepath.Base(exe))
	return ok && app.ID == inst.App.ID
}

// forget drops what was done about an instance that stopped; a relaunch
// is a new instance and is acted on again.
func (a *Agent) forget(k procwatch.Key) {
	delete(a.judged, k)
	delete(a.lastUse, k)
	delete(a.leftRunning, k)
	if st, ok := a.setups[k]; ok && a.cfg.Notifier != nil {
		for _, f := range st.findings {
			a.cfg.Notifier.Clear(connectionNoticeKey(k, f))
		}
	}
	delete(a.setups, k)
	a.forgetPosture(k)
	if a.cfg.Enforcer != nil {
		a.cfg.Enforcer.Cancel(k)
	}
	if a.cfg.Notifier != nil {
		a.cfg.Notifier.Clear(noticeKey(k))
	}
}

// recordBlock records an enforcement result.
func (a *Agent) recordBlock(b blockResult) error {
	ev := &vcguardv1.Enforcement{App: b.inst, Killed: b.res.Killed, GraceMs: b.grace.Milliseconds()}
	if b.res.Err != nil {
		ev.Error = b.res.Err.Error()
		a.cfg.Logger.Warn("app not closed", "app", b.inst.GetAppId(), "pid", b.inst.GetPid(), "err", b.res.Err)
	} else {
		a.cfg.Logger.Info("app closed", "app", b.inst.GetAppId(), "pid", b.inst.GetPid(), "killed", b.res.Killed)
	}
	at := b.res.At
	if at.IsZero() {
		at = time.Now()
	}
	a.emit(at, &vcguardv1.Event{Detail: &vcguardv1.Event_Enforcement{Enforcement: ev}})
	return a.flush()
}

// Notifier tells the people at the keyboard (*notify.Service).
type Notifier interface {
	// Notify hands a notice to the user sessions and returns at once;
	// limited reports that it was held back as a repeat (nothing is
	// recorded). What became of a notice not held back arrives later on
	// Delivered.
	Notify(n notify.Notice) (limited bool)
	// Delivered carries what became of each notice, once the notifiers
	// answered or the wait for them ended (a few seconds): the sessions
	// that displayed it and why the others did not; also the notices in
	// force shown to a notifier that connected later. The Run loop reads
	// it (deliveries) and records each with recordDelivery.
	Delivered() <-chan notify.Delivery
	// Clear forgets a finding that went away.
	Clear(key string)
}

// noticeKey identifies the notices about one app instance.
func noticeKey(k procwatch.Key) string { return fmt.Sprintf("%d/%d", k.PID, k.Started) }

// tell hands a finding to the notifier. It does not wait for the
// notifiers: what became of the notice is recorded when it arrives on
// deliveries (recordDelivery).
func (a *Agent) tell(inst state.Instance, f policies.Finding) {
	if a.cfg.Notifier == nil {
		return
	}
	n := notify.Notice{
		Key: noticeKey(inst.Key()), AppID: inst.App.ID, AppName: inst.App.Name, Verdict: f.Verdict, Action: f.Action,
		Grace: f.BlockGrace, Alternative: f.Alternative, Note: f.Note, InfoURL: f.InfoURL,
		Version: inst.Identity.Version, MinVersion: f.MinVersion, PID: int(inst.Process.PID), Facts: inst.App.Facts,
	}
	if alt, ok := a.cfg.Catalog.App(f.Alternative); ok {
		n.AlternativeName = alt.Name
	}
	if names := a.cfg.Catalog.EmbeddedNames(inst.App); len(names) > 0 {
		n.EmbeddedServices = names[:min(len(names), localipc.MaxEmbeddedServices)]
	}
	a.cfg.Notifier.Notify(n)
}

// deliveries is the channel on which the notifier reports what became of
// the notices (Notifier.Delivered); nil, which never delivers, without a
// notifier. The Run loop selects on it.
func (a *Agent) deliveries() <-chan notify.Delivery {
	if a.cfg.Notifier == nil {
		return nil
	}
	return a.cfg.Notifier.Delivered()
}

// recordDelivery records what became of a notice (in the Run loop):
// user_notified with the sessions that displayed it (0 when none did)
// and why the others did not; what, and in which language, not to whom.
func (a *Agent) recordDelivery(d notify.Delivery) error {
	n := d.Notice
	log := a.cfg.Logger.With("app", n.AppID, "verdict", n.Verdict, "action", n.Action, "sessions", d.Sessions)
	if d.Replayed {
		log = log.With("replayed", true)
	}
	if d.Sessions > 0 {
		log.Info("user notified", "lang", d.Lang, "failures", len(d.Failures))
	} else {
		log.Warn("user not notified", "failures", d.Failures)
	}
	ev := &vcguardv1.UserNotified{AppId: n.AppID, Verdict: n.Verdict.Proto(), PolicyAction: n.Action.Proto(),
		Sessions: uint32(d.Sessions), Lang: d.Lang, Failures: d.Failures, Replayed: d.Replayed}
	at := d.At
	if at.IsZero() {
		at = time.Now()
	}
	a.emit(at, &vcguardv1.Event{Detail: &vcguardv1.Event_UserNotified{UserNotified: ev}})
	return a.flush()
}
