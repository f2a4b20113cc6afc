// Package agent wires the vcguard agent: sources (process scans, policy
// updates) feed one state of what is running; the evaluator turns state ×
// policy into verdicts; changes are recorded as events in the durable
// outbox, which the uplink sends to the server.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
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

	// appliedVersion is read by the uplink's hello from another goroutine.
	appliedVersion atomic.Uint64
}

// New prepares an enrolled agent.
func New(cfg Config, identity *uplink.Identity) (*Agent, error) {
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
	data, err := os.ReadFile(filepath.Join(a.cfg.StateDir, policyFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var sp vcguardv1.SignedPolicy
	if err := protojson.Unmarshal(data, &sp); err != nil {
		return fmt.Errorf("%s: %w", policyFile, err)
	}
	p, err := a.verify(&sp)
	if err != nil {
		return err
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

	// The first scan is recorded as an inventory: the server replaces its
	// view of the device with it.
	if err := a.scan(ctx, true); err != nil {
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
			if err := a.scan(ctx, false); err != nil {
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
		Verdict: verdictProto(policies.Evaluate(a.policy, policies.Detection{AppID: app.ID}).Verdict), PolicyVersion: a.policyVersion,
	}
}

// scan lists processes, matches them to the catalog and records starts and
// stops.
func (a *Agent) scan(ctx context.Context, inventory bool) error {
	procs, err := a.cfg.Scan(ctx, func(name string) bool { _, ok := a.matcher.Match(name); return ok })
	if err != nil {
		return err
	}
	now := time.Now()
	seen := make(map[procwatch.Key]bool, len(procs))
	var started []*vcguardv1.AppInstance
	for _, p := range procs {
		app, ok := a.matcher.Match(p.Name)
		if !ok {
			continue
		}
		k := p.Key()
		seen[k] = true
		if _, known := a.running[k]; known {
			continue
		}
		inst := a.instance(p, app)
		a.running[k] = inst
		started = append(started, inst)
	}
	if inventory {
		apps := make([]*vcguardv1.AppInstance, 0, len(a.running))
		for _, inst := range a.running {
			apps = append(apps, inst)
		}
		sortInstances(apps)
		return a.record(now, &vcguardv1.Event{Detail: &vcguardv1.Event_Inventory{Inventory: &vcguardv1.Inventory{Apps: apps}}})
	}
	sortInstances(started)
	for _, inst := range started {
		a.cfg.Logger.Info("app started", "app", inst.GetAppId(), "pid", inst.GetPid(), "verdict", inst.GetVerdict())
		if err := a.record(now, appEvent(vcguardv1.AppEvent_KIND_STARTED, inst)); err != nil {
			return err
		}
	}
	var stopped []procwatch.Key
	for k := range a.running {
		if !seen[k] {
			stopped = append(stopped, k)
		}
	}
	sort.Slice(stopped, func(i, j int) bool { return stopped[i].PID < stopped[j].PID })
	for _, k := range stopped {
		inst := a.running[k]
		delete(a.running, k)
		a.cfg.Logger.Info("app stopped", "app", inst.GetAppId(), "pid", inst.GetPid())
		if err := a.record(now, appEvent(vcguardv1.AppEvent_KIND_STOPPED, inst)); err != nil {
			return err
		}
	}
	return nil
}

func sortInstances(s []*vcguardv1.AppInstance) {
	sort.Slice(s, func(i, j int) bool { return s[i].GetPid() < s[j].GetPid() })
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
	keys := make([]procwatch.Key, 0, len(a.running))
	for k := range a.running {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].PID < keys[j].PID })
	for _, k := range keys {
		inst := a.running[k]
		v := verdictProto(policies.Evaluate(p, policies.Detection{AppID: inst.GetAppId()}).Verdict)
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

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func verdictProto(v policies.Verdict) vcguardv1.Verdict {
	switch v {
	case policies.VerdictApproved:
		return vcguardv1.Verdict_VERDICT_APPROVED
	case policies.VerdictRestricted:
		return vcguardv1.Verdict_VERDICT_RESTRICTED
	case policies.VerdictForbidden:
		return vcguardv1.Verdict_VERDICT_FORBIDDEN
	case policies.VerdictUnlisted:
		return vcguardv1.Verdict_VERDICT_UNLISTED
	case policies.VerdictUnverified:
		return vcguardv1.Verdict_VERDICT_UNVERIFIED
	case policies.VerdictOutdated:
		return vcguardv1.Verdict_VERDICT_OUTDATED
	}
	return vcguardv1.Verdict_VERDICT_UNSPECIFIED
}
