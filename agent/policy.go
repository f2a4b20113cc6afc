package agent

// The policy the agent enforces: the stored one at start, each pushed one
// verified and applied, the local drop-ins combined with it, and the
// verdicts of running apps judged again when either changes.

import (
	"errors"
	"fmt"
	"github.com/vcguard/vcguard/internal/atomicfile"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/vcguard/vcguard/agent/policydir"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

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

// judge sets the instance's verdict under the policy in force.
// The central policy and the local drop-ins combine to the strictest
// finding (policies.EvaluateStrictest).
func (a *Agent) judge(inst *vcguardv1.AppInstance) policies.Finding {
	d := policies.Detection{AppID: inst.GetAppId(), Verified: inst.GetVerified(), Version: inst.GetVersion(), Group: a.cfg.Group}
	ps := []*policies.Policy{a.policy}
	for _, f := range a.local {
		if f.Policy != nil {
			ps = append(ps, f.Policy)
		}
	}
	f := policies.EvaluateStrictest(ps, d)
	inst.Verdict = f.Verdict.Proto()
	inst.Action = string(f.Action)
	inst.PolicyVersion = a.policyVersion
	return f
}

// rejudge evaluates every running instance again under the policies in
// force and records the verdicts that changed.
func (a *Agent) rejudge(now time.Time) error {
	keys := slices.SortedFunc(maps.Keys(a.running), procwatch.CompareKeys)
	for _, k := range keys {
		// Judge a copy: the instance changes only once its change is
		// recorded, so a failed record is found again by the next re-judge.
		inst := proto.Clone(a.running[k]).(*vcguardv1.AppInstance)
		before, beforeAction := a.running[k].GetVerdict(), a.running[k].GetAction()
		f := a.judge(inst)
		if inst.GetVerdict() != before || inst.GetAction() != beforeAction {
			if err := a.record(now, appEvent(vcguardv1.AppEvent_KIND_VERDICT_CHANGED, inst)); err != nil {
				return err
			}
		}
		a.running[k] = inst
		a.act(k, inst, f)
	}
	return nil
}

// applyLocal takes a new state of the local policy directory: records it
// (the server sees which drop-ins apply, and which are refused) and judges
// what runs again.
func (a *Agent) applyLocal(files []policydir.File) error {
	a.local = files
	ev := &vcguardv1.LocalPolicy{}
	for _, f := range files {
		lf := &vcguardv1.LocalPolicyFile{Path: f.Path, Sha256: f.SHA256}
		if f.Policy != nil {
			lf.Name = f.Policy.Name
		}
		if f.Err != nil {
			lf.Error = f.Err.Error()
			a.cfg.Logger.Error("local policy refused; its last good content stays in force", "file", f.Path, "err", f.Err)
		}
		ev.Files = append(ev.Files, lf)
	}
	a.cfg.Logger.Info("local policy", "files", len(files))
	now := time.Now()
	if err := a.record(now, &vcguardv1.Event{Detail: &vcguardv1.Event_LocalPolicy{LocalPolicy: ev}}); err != nil {
		return err
	}
	return a.rejudge(now)
}

// applyPolicy verifies a pushed policy, refuses replays of older versions,
// stores it as the last good policy and re-evaluates what runs.
func (a *Agent) applyPolicy(sp *vcguardv1.SignedPolicy) error {
	if sp.GetVersion() <= a.policyVersion {
		if sp.GetVersion() == a.policyVersion {
			return a.reportPolicy()
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
	if err := atomicfile.WriteFile(filepath.Join(a.cfg.StateDir, policyFile), data, 0o600); err != nil {
		return err
	}
	a.policy, a.policyVersion = p, sp.GetVersion()
	a.appliedVersion.Store(sp.GetVersion())
	a.cfg.Logger.Info("policy applied", "version", sp.GetVersion(), "name", p.Name)
	a.policyUnreported = true
	return a.reportPolicy()
}

// reportPolicy judges what runs under the policy in force and records
// that it applies; until that is recorded, it is retried (the retry
// ticker, or the server sending the same version again).
func (a *Agent) reportPolicy() error {
	if !a.policyUnreported {
		return nil
	}
	now := time.Now()
	if err := a.rejudge(now); err != nil {
		return err
	}
	if err := a.record(now, &vcguardv1.Event{Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: a.policyVersion}}}); err != nil {
		return err
	}
	a.policyUnreported = false
	return nil
}
