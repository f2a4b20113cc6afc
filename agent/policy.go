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
	"slices"
	"time"

	"github.com/vcguard/vcguard/agent/policydir"
	"github.com/vcguard/vcguard/agent/statedir"
	"github.com/vcguard/vcguard/agent/uplink"
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
	a.policy, a.policyVersion, a.policySigned = p, sp.GetVersion(), &sp
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
		var fe *policies.FieldError
		if errors.As(err, &fe) {
			// Perhaps an app only a newer catalog knows: tried again
			// when one arrives.
			a.pendingPolicy = sp
		}
		return err
	}
	data, err := protojson.Marshal(sp)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(a.cfg.StateDir, policyFile), data, 0o600); err != nil {
		return err
	}
	a.policy, a.policyVersion, a.policySigned, a.pendingPolicy = p, sp.GetVersion(), sp, nil
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

// The catalog the agent recognises apps with: the built-in one, or a newer
// signed version the server pushed (cached in the state directory), each
// checked like a policy and refused when not newer.

// loadStoredCatalog returns the cached catalog when it verifies and is
// newer than the built-in one; nil when there is none to use.
func loadStoredCatalog(cfg Config, id *uplink.Identity) (*vcguardv1.SignedCatalog, *policies.Catalog, error) {
	path := statedir.Catalog.Path(cfg.StateDir)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var sc vcguardv1.SignedCatalog
	if err := protojson.Unmarshal(data, &sc); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if sc.GetVersion() <= cfg.CatalogVersion {
		// The agent was upgraded past it: the built-in one is newer.
		return nil, nil, nil
	}
	cat, err := openCatalog(cfg, id, &sc)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return &sc, cat, nil
}

// openCatalog verifies a signed catalog with the pinned key, loads its
// entries and adds the local ones (cfg.CatalogExtra).
func openCatalog(cfg Config, id *uplink.Identity, sc *vcguardv1.SignedCatalog) (*policies.Catalog, error) {
	_, cat, err := policies.OpenSignedCatalog(id.PolicyKey, sc.GetVersion(), sc.GetBundle(), sc.GetSignature())
	if err != nil {
		return nil, err
	}
	if len(cfg.CatalogExtra) == 0 {
		return cat, nil
	}
	merged, err := policies.NewCatalog(append(slices.Clone(cat.Apps()), cfg.CatalogExtra...)...)
	if err != nil {
		return nil, fmt.Errorf("catalog version %d with the local catalog entries: %w", sc.GetVersion(), err)
	}
	return merged, nil
}

// OnCatalog hands a catalog the server pushed to the Run loop, which
// verifies and applies it; it returns without it once Run has returned.
// Safe from any goroutine (the uplink's).
func (a *Agent) OnCatalog(sc *vcguardv1.SignedCatalog) {
	select {
	case a.catalogCh <- sc:
	case <-a.stopped:
	}
}

// CatalogVersion is the version of the catalog in use. Safe from any
// goroutine.
func (a *Agent) CatalogVersion() uint64 { return a.catalogInUse.Load() }

// CatalogChanged signals when the catalog version in use changed, for the
// uplink to report it.
func (a *Agent) CatalogChanged() <-chan struct{} { return a.catalogChanged }

// applyCatalog verifies a pushed catalog, refuses one not newer than the
// one in use, one whose entries do not load and one the policy in force
// does not validate against (the catalog in use stays); else caches it,
// recognises apps with it and judges what runs again.
func (a *Agent) applyCatalog(sc *vcguardv1.SignedCatalog) error {
	if sc.GetVersion() <= a.catalogVersion {
		if sc.GetVersion() == a.catalogVersion {
			return nil // sent again
		}
		return fmt.Errorf("version %d is older than the version %d in use (replay refused)", sc.GetVersion(), a.catalogVersion)
	}
	cat, err := openCatalog(a.cfg, a.identity, sc)
	if err != nil {
		return err
	}
	var p *policies.Policy
	if a.policySigned != nil {
		if p, err = policies.ParsePolicy(fmt.Sprintf("policy version %d", a.policySigned.GetVersion()), a.policySigned.GetDocument(), cat); err != nil {
			return fmt.Errorf("catalog version %d: the policy in force does not validate against it: %w", sc.GetVersion(), err)
		}
	}
	data, err := protojson.Marshal(sc)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(statedir.Catalog.Path(a.cfg.StateDir), data, statedir.Catalog.Mode); err != nil {
		return err
	}
	prev := a.catalogVersion
	a.cfg.Catalog, a.catalogVersion, a.catalogFromServer = cat, sc.GetVersion(), true
	a.matcher = cat.Matcher(a.cfg.GOOS)
	a.apps.SetCatalog(a.matcher, cat)
	if p != nil {
		a.policy = p
	}
	a.catalogInUse.Store(sc.GetVersion())
	select {
	case a.catalogChanged <- struct{}{}:
	default:
	}
	if a.cfg.OnCatalog != nil {
		a.cfg.OnCatalog(cat)
	}
	if a.cfg.PolicyDir != nil {
		// The drop-ins are read again against it (they come back
		// through applyLocal).
		a.cfg.PolicyDir.SetCatalog(cat)
	}
	a.cfg.Logger.Info("catalog applied", "version", sc.GetVersion(), "was", prev, "apps", len(cat.Apps()))
	if sp := a.pendingPolicy; sp != nil {
		a.pendingPolicy = nil
		if sp.GetVersion() > a.policyVersion {
			if err := a.applyPolicy(sp); err != nil {
				a.cfg.Logger.Error("policy refused; the last good policy stays in force", "version", sp.GetVersion(), "err", err)
			}
		}
	}
	a.rejudge(time.Now())
	return a.flush()
}

// Catalog is the catalog in use when Run starts: the built-in one or a
// newer cached one. Not safe once Run runs (OnCatalog tells of changes).
func (a *Agent) Catalog() *policies.Catalog { return a.cfg.Catalog }

// CachedCatalog returns the catalog the agent will use at start when the
// state directory holds a signed one newer than cfg.CatalogVersion (with
// cfg.CatalogExtra), else cfg.Catalog: for what is built before the agent,
// such as the local policy directory, whose drop-ins may name a tool only
// the cached catalog knows.
func CachedCatalog(cfg Config, id *uplink.Identity) *policies.Catalog {
	if _, cat, err := loadStoredCatalog(cfg, id); err == nil && cat != nil {
		return cat
	}
	return cfg.Catalog
}
