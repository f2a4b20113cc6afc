package agent

// The server and the account behind an approved app. When an app instance
// starts, the app's own local configuration in the home of the process's
// owner says which servers and accounts it is set up for (SetupReader,
// agent/appconfig); the policies judge it (policies.EvaluateConnection);
// the result is recorded when it differs from what was last recorded for
// the app in that session, and warn or block findings are acted on. A
// change of policy judges the setups read again.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/vcguard/vcguard/agent/notify"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/state"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// Setup is what an app's local configuration says it is set up for.
type Setup struct {
	// Servers are host names, lower case.
	Servers []string
	// Accounts are reduced to kind, login domain and tenant.
	Accounts []policies.Account
	// Source names the kind of file read ("Jitsi Meet settings").
	Source string
	// Session is the user session whose configuration was read (uid, SID).
	Session string
}

// ErrNoSetup is returned by a SetupReader when the app has no local
// configuration in the owner's home (never set up, or a fresh install).
var ErrNoSetup = errors.New("no local configuration")

// SetupReader reads an app's setup for the owner of a process
// (cmd/vcguard-agent builds it over agent/appconfig).
type SetupReader interface {
	// Knows reports whether a reader exists for the app.
	Knows(appID string) bool
	// ReadSetup reads the setup of app for the owner of pid.
	ReadSetup(ctx context.Context, appID string, pid int32) (Setup, error)
}

// setupState is what was read and recorded for one instance.
type setupState struct {
	setup    Setup
	err      string
	findings []policies.ConnectionFinding
}

// readSetups reads and judges the setup of instances that just started.
func (a *Agent) readSetups(ctx context.Context, now time.Time, started []state.Instance) {
	if a.cfg.Setups == nil {
		return
	}
	for _, inst := range started {
		if !a.cfg.Setups.Knows(inst.App.ID) || a.judged[inst.Key()].finding.Verdict == policies.VerdictForbidden {
			continue
		}
		s, err := a.cfg.Setups.ReadSetup(ctx, inst.App.ID, inst.Process.PID)
		if errors.Is(err, ErrNoSetup) {
			// Never set up here (or a fresh install): nothing to judge,
			// nothing to report.
			continue
		}
		st := setupState{setup: s}
		if err != nil {
			st.err = err.Error()
			a.cfg.Logger.Warn("app setup not read", "app", inst.App.ID, "pid", inst.Process.PID, "err", err)
		}
		a.judgeSetup(now, inst, st)
	}
}

// rejudgeSetups judges the setups read of running instances again under
// the policies in force.
func (a *Agent) rejudgeSetups(now time.Time) {
	for _, k := range slices.SortedFunc(maps.Keys(a.setups), procwatch.CompareKeys) {
		inst, ok := a.apps.Instance(k)
		if !ok {
			delete(a.setups, k)
			continue
		}
		a.judgeSetup(now, inst, a.setups[k])
	}
}

// judgeSetup judges one instance's setup, records it when it changed and
// acts on the findings that are new.
func (a *Agent) judgeSetup(now time.Time, inst state.Instance, st setupState) {
	k := inst.Key()
	prev, seen := a.setups[k]
	if st.err == "" {
		st.findings = policies.EvaluateConnection(a.policies(), policies.ConnectionSubject{
			AppID: inst.App.ID, Group: a.cfg.Group, Servers: st.setup.Servers, Accounts: st.setup.Accounts,
		})
	}
	a.setups[k] = st
	if seen && sameSetup(prev, st) {
		return
	}
	ev := &vcguardv1.AppConnection{
		AppId: inst.App.ID, Pid: inst.Process.PID, Session: st.setup.Session, Servers: st.setup.Servers,
		Source: st.setup.Source, Error: st.err,
	}
	for _, acc := range st.setup.Accounts {
		ev.Accounts = append(ev.Accounts, &vcguardv1.Account{Kind: acc.Kind.Proto(), Domain: acc.Domain, Tenant: acc.Tenant})
	}
	for _, f := range st.findings {
		ev.Findings = append(ev.Findings, &vcguardv1.ConnectionFinding{Kind: f.Kind.Proto(), Detail: f.Detail, PolicyAction: f.Action.Proto()})
	}
	if len(st.findings) > 0 {
		a.cfg.Logger.Warn("app set up the wrong way", "app", inst.App.ID, "pid", inst.Process.PID, "findings", len(st.findings))
	} else {
		a.cfg.Logger.Info("app setup", "app", inst.App.ID, "pid", inst.Process.PID, "servers", len(st.setup.Servers), "accounts", len(st.setup.Accounts), "err", st.err)
	}
	a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_AppConnection{AppConnection: ev}})
	a.actOnSetup(inst, prev.findings, st.findings)
}

func sameSetup(a, b setupState) bool {
	return a.err == b.err && a.setup.Source == b.setup.Source && slices.Equal(a.setup.Servers, b.setup.Servers) &&
		slices.Equal(a.setup.Accounts, b.setup.Accounts) && slices.EqualFunc(a.findings, b.findings, func(x, y policies.ConnectionFinding) bool {
		return x.Kind == y.Kind && x.Detail == y.Detail && x.Action == y.Action
	})
}

// connectionNoticeKey identifies the notice about one finding of one
// instance.
func connectionNoticeKey(k procwatch.Key, f policies.ConnectionFinding) string {
	return fmt.Sprintf("conn/%s/%s/%s", noticeKey(k), f.Kind, f.Detail)
}

// actOnSetup tells the employee about the findings that are new or
// stronger, clears the notices of those gone, and closes the app for a
// block finding (when its executable proves it is the app, as for any
// block).
func (a *Agent) actOnSetup(inst state.Instance, prev, cur []policies.ConnectionFinding) {
	k := inst.Key()
	block := false
	for _, f := range cur {
		if f.Action == policies.ActionBlock {
			block = true
		}
		if f.Action != policies.ActionWarn && f.Action != policies.ActionBlock {
			continue
		}
		if slices.ContainsFunc(prev, func(p policies.ConnectionFinding) bool {
			return p.Kind == f.Kind && p.Detail == f.Detail && p.Action == f.Action
		}) {
			continue
		}
		if a.cfg.Notifier == nil {
			continue
		}
		n := notify.Notice{
			Key: connectionNoticeKey(k, f), AppID: inst.App.ID, AppName: inst.App.Name, Verdict: a.judged[k].finding.Verdict,
			Action: f.Action, Alternative: f.Alternative, Note: f.Note, InfoURL: f.InfoURL, PID: int(inst.Process.PID),
			ConnectionFinding: f.Kind, ConnectionDetail: f.Detail,
		}
		if f.Action == policies.ActionBlock {
			n.Grace = a.judgedGrace()
		}
		if alt, ok := a.cfg.Catalog.App(f.Alternative); ok {
			n.AlternativeName = alt.Name
		}
		a.cfg.Notifier.Notify(n)
	}
	if a.cfg.Notifier != nil {
		for _, p := range prev {
			if !slices.ContainsFunc(cur, func(f policies.ConnectionFinding) bool { return f.Kind == p.Kind && f.Detail == p.Detail }) {
				a.cfg.Notifier.Clear(connectionNoticeKey(k, p))
			}
		}
	}
	if block && a.judged[k].finding.Action != policies.ActionBlock {
		a.block(inst, a.judgedGrace())
	}
}

// judgedGrace is the block grace of the policies in force for the
// device's group: the shortest any sets.
func (a *Agent) judgedGrace() time.Duration {
	grace := time.Duration(0)
	for _, p := range a.policies() {
		if p == nil {
			continue
		}
		if g := p.BlockGrace(a.cfg.Group); grace == 0 || g < grace {
			grace = g
		}
	}
	if grace == 0 {
		grace = policies.DefaultBlockGrace
	}
	return grace
}
