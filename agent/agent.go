// Package agent wires the vcguard agent: sources (process scans, policy
// updates) feed one state of what is running; the evaluator turns state ×
// policy into verdicts; changes are recorded as events in the durable
// outbox, which the uplink sends to the server.
package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vcguard/vcguard/agent/outbox"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/uplink"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// policyFile keeps the last good signed policy in the state directory.
const policyFile = "policy.json"

// Scanner lists the processes of interest.
type Scanner func(ctx context.Context, filter procwatch.Filter) ([]procwatch.Process, error)

// Config is what the agent runs with.
type Config struct {
	StateDir     string
	ScanInterval time.Duration
	Device       *vcguardv1.DeviceInfo
	Catalog      *policies.Catalog
	GOOS         string
	Scan         Scanner
	Logger       *slog.Logger
	// Heartbeat of the stream; 0 means the uplink default.
	Heartbeat time.Duration
}

// Agent is the running agent.
type Agent struct {
	cfg      Config
	identity *uplink.Identity
	matcher  *policies.Matcher
	out      *outbox.Outbox
	policyCh chan *vcguardv1.SignedPolicy

	// Owned by the Run goroutine.
	policy        *policies.Policy
	policyVersion uint64
	running       map[procwatch.Key]*vcguardv1.AppInstance
	// inventoried is set once the first scan is recorded as an inventory.
	inventoried bool

	// appliedVersion is read by the uplink's hello from another goroutine.
	appliedVersion atomic.Uint64
}

// New prepares an enrolled agent. A nil Logger discards the log.
func New(cfg Config, identity *uplink.Identity) (*Agent, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	out, err := outbox.Open(filepath.Join(cfg.StateDir, "outbox"), 0)
	if err != nil {
		return nil, err
	}
	a := &Agent{
		cfg: cfg, identity: identity, matcher: cfg.Catalog.Matcher(cfg.GOOS), out: out,
		policyCh: make(chan *vcguardv1.SignedPolicy, 4), running: make(map[procwatch.Key]*vcguardv1.AppInstance),
	}
	if err := a.loadStoredPolicy(); err != nil {
		cfg.Logger.Warn("stored policy not usable; waiting for the server's", "err", err)
	}
	return a, nil
}

// loadStoredPolicy applies the last good policy from disk, verifying it again.
func (a *Agent) loadStoredPolicy() error {
	path := filepath.Join(a.cfg.StateDir, policyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var sp vcguardv1.SignedPolicy
	if err := protojson.Unmarshal(data, &sp); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	p, err := a.verify(&sp)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	a.policy, a.policyVersion = p, sp.GetVersion()
	a.appliedVersion.Store(sp.GetVersion())
	a.cfg.Logger.Info("policy loaded from disk", "version", sp.GetVersion(), "name", p.Name)
	return nil
}

func (a *Agent) verify(sp *vcguardv1.SignedPolicy) (*policies.Policy, error) {
	if err := policies.VerifyPolicy(a.identity.PolicyKey, sp.GetVersion(), sp.GetDocument(), sp.GetSignature()); err != nil {
		return nil, fmt.Errorf("policy version %d: %w", sp.GetVersion(), err)
	}
	p, err := policies.ParsePolicy(fmt.Sprintf("policy version %d", sp.GetVersion()), sp.GetDocument(), a.cfg.Catalog)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Run runs the agent until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	defer a.out.Close()
	client := &uplink.Client{
		StateDir: a.cfg.StateDir, Identity: a.identity, Outbox: a.out, Logger: a.cfg.Logger.With("component", "uplink"),
		Heartbeat: a.cfg.Heartbeat,
		Hello: func() *vcguardv1.Hello {
			return &vcguardv1.Hello{Device: a.cfg.Device, PolicyVersion: a.appliedVersion.Load()}
		},
		OnPolicy: func(sp *vcguardv1.SignedPolicy) {
			select {
			case a.policyCh <- sp:
			case <-ctx.Done():
			}
		},
	}
	uplinkDone := make(chan error, 1)
	go func() { uplinkDone <- client.Run(ctx) }()

	if err := a.scan(ctx); err != nil {
		a.cfg.Logger.Error("scan", "err", err)
	}
	ticker := time.NewTicker(a.cfg.ScanInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return <-uplinkDone
		case err := <-uplinkDone:
			return err
		case <-ticker.C:
			if err := a.scan(ctx); err != nil {
				a.cfg.Logger.Error("scan", "err", err)
			}
		case sp := <-a.policyCh:
			if err := a.applyPolicy(sp); err != nil {
				a.cfg.Logger.Error("policy refused; the last good policy stays in force", "version", sp.GetVersion(), "err", err)
			}
		}
	}
}

func (a *Agent) instance(p procwatch.Process, app *policies.App) *vcguardv1.AppInstance {
	return &vcguardv1.AppInstance{
		AppId: app.ID, Name: app.Name, Pid: p.PID, Started: timestamppb.New(p.Started), Exe: p.Exe,
		Verdict: policies.Evaluate(a.policy, policies.Detection{AppID: app.ID}).Verdict.Proto(), PolicyVersion: a.policyVersion,
	}
}

// detected is a process of a catalog app.
type detected struct {
	proc procwatch.Process
	app  *policies.App
}

// diffScan compares the apps known to run with a fresh process list: the
// processes of catalog apps not known yet have started, the known ones
// missing from the list have stopped. Both come in order of PID and start
// time, so that events are recorded in a stable order.
func diffScan(running map[procwatch.Key]*vcguardv1.AppInstance, procs []procwatch.Process, match func(name string) (*policies.App, bool)) (started []detected, stopped []procwatch.Key) {
	seen := make(map[procwatch.Key]bool, len(procs))
	for _, p := range procs {
		app, ok := match(p.Name)
		if !ok {
			continue
		}
		k := p.Key()
		if seen[k] {
			continue
		}
		seen[k] = true
		if _, known := running[k]; !known {
			started = append(started, detected{proc: p, app: app})
		}
	}
	for k := range running {
		if !seen[k] {
			stopped = append(stopped, k)
		}
	}
	slices.SortFunc(started, func(a, b detected) int { return compareKeys(a.proc.Key(), b.proc.Key()) })
	slices.SortFunc(stopped, compareKeys)
	return started, stopped
}

func compareKeys(a, b procwatch.Key) int {
	return cmp.Or(cmp.Compare(a.PID, b.PID), cmp.Compare(a.Started, b.Started))
}

// scan lists processes, matches them to the catalog and records starts and
// stops. Until one is recorded, a scan is recorded as an inventory instead:
// the server replaces its view of the device with it. What the agent knows
// to run changes only with an event recorded, so a failed append is retried
// by the next scan rather than lost.
func (a *Agent) scan(ctx context.Context) error {
	procs, err := a.cfg.Scan(ctx, func(name string) bool { _, ok := a.matcher.Match(name); return ok })
	if err != nil {
		return err
	}
	now := time.Now()
	started, stopped := diffScan(a.running, procs, a.matcher.Match)
	if !a.inventoried {
		// Nothing is known to run before the inventory: everything found
		// has started, and the inventory is all of it.
		running := make(map[procwatch.Key]*vcguardv1.AppInstance, len(started))
		apps := make([]*vcguardv1.AppInstance, 0, len(started))
		for _, d := range started {
			inst := a.instance(d.proc, d.app)
			running[d.proc.Key()] = inst
			apps = append(apps, inst)
		}
		if err := a.record(now, &vcguardv1.Event{Detail: &vcguardv1.Event_Inventory{Inventory: &vcguardv1.Inventory{Apps: apps}}}); err != nil {
			return err
		}
		a.running, a.inventoried = running, true
		return nil
	}
	for _, d := range started {
		inst := a.instance(d.proc, d.app)
		a.cfg.Logger.Info("app started", "app", inst.GetAppId(), "pid", inst.GetPid(), "verdict", inst.GetVerdict())
		if err := a.record(now, appEvent(vcguardv1.AppEvent_KIND_STARTED, inst)); err != nil {
			return err
		}
		a.running[d.proc.Key()] = inst
	}
	for _, k := range stopped {
		inst := a.running[k]
		a.cfg.Logger.Info("app stopped", "app", inst.GetAppId(), "pid", inst.GetPid())
		if err := a.record(now, appEvent(vcguardv1.AppEvent_KIND_STOPPED, inst)); err != nil {
			return err
		}
		delete(a.running, k)
	}
	return nil
}

func appEvent(kind vcguardv1.AppEvent_Kind, inst *vcguardv1.AppInstance) *vcguardv1.Event {
	return &vcguardv1.Event{Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: kind, App: inst}}}
}

func (a *Agent) record(at time.Time, ev *vcguardv1.Event) error {
	ev.Time = timestamppb.New(at)
	return a.out.Append(ev)
}

// applyPolicy verifies a pushed policy, refuses replays of older versions,
// stores it as the last good policy and re-evaluates what runs.
func (a *Agent) applyPolicy(sp *vcguardv1.SignedPolicy) error {
	if sp.GetVersion() <= a.policyVersion {
		if sp.GetVersion() == a.policyVersion {
			return nil
		}
		return fmt.Errorf("version %d is older than the applied version %d (replay refused)", sp.GetVersion(), a.policyVersion)
	}
	p, err := a.verify(sp)
	if err != nil {
		return err
	}
	data, err := protojson.Marshal(sp)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(a.cfg.StateDir, policyFile), data); err != nil {
		return err
	}
	a.policy, a.policyVersion = p, sp.GetVersion()
	a.appliedVersion.Store(sp.GetVersion())
	a.cfg.Logger.Info("policy applied", "version", sp.GetVersion(), "name", p.Name)
	now := time.Now()
	keys := slices.SortedFunc(maps.Keys(a.running), compareKeys)
	for _, k := range keys {
		inst := a.running[k]
		v := policies.Evaluate(p, policies.Detection{AppID: inst.GetAppId()}).Verdict.Proto()
		inst.PolicyVersion = a.policyVersion
		if v != inst.GetVerdict() {
			inst.Verdict = v
			if err := a.record(now, appEvent(vcguardv1.AppEvent_KIND_VERDICT_CHANGED, inst)); err != nil {
				return err
			}
		}
	}
	return a.record(now, &vcguardv1.Event{Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: sp.GetVersion()}}})
}

// writeFileAtomic replaces path with data (mode 0600). The data is synced
// before the rename, so a power loss leaves the old or the new file, never
// an empty one.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
