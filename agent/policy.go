package agent

// The policy the agent enforces: the stored one at start, each pushed one
// verified and applied, the local drop-ins combined with it, and the
// verdicts of running apps judged again when either changes.

import (
	"errors"
	"fmt"
	"github.com/vcguard/vcguard/internal/atomicfile"
	"os"
	"path/filepath"
	"time"

	"github.com/vcguard/vcguard/agent/policydir"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/encoding/protojson"
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
	a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_LocalPolicy{LocalPolicy: ev}})
	a.rejudge(now)
	return a.flush()
}

// applyPolicy verifies a pushed policy, refuses replays of older versions,
// stores it as the last good policy and re-evaluates what runs.
func (a *Agent) applyPolicy(sp *vcguardv1.SignedPolicy) error {
	if sp.GetVersion() <= a.policyVersion {
		if sp.GetVersion() == a.policyVersion {
			// Sent again (a reconnect): record what still waits.
			if err := a.flush(); err != nil {
				return err
			}
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
// that it applies, once per policy.
func (a *Agent) reportPolicy() error {
	if !a.policyUnreported {
		return nil
	}
	now := time.Now()
	a.rejudge(now)
	a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: a.policyVersion}}})
	a.policyUnreported = false
	return a.flush()
}
