// Package agent wires the vcguard agent: sources (process scans, policy
// updates) feed one state of what is running; the evaluator turns state ×
// policy into verdicts; changes are recorded as events in the durable
// outbox, which the uplink sends to the server.
package agent

import (
	"cmp"
	"context"
	"fmt"
	"github.com/vcguard/vcguard/agent/statedir"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/agent/fsperm"
	"github.com/vcguard/vcguard/agent/outbox"
	"github.com/vcguard/vcguard/agent/policydir"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/uplink"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// policyFile keeps the last good signed policy in the state directory.
var policyFile = statedir.Policy.Name

// ProcessSource reports which processes of interest start and exit: a
// *procwatch.Watcher, or a fake in tests.
type ProcessSource interface {
	Run(ctx context.Context, emit func(procwatch.Changes)) error
}

// Identity is what the agent established about a process's executable.
type Identity struct {
	Version  string
	Verified bool
	// How it was verified, or why not.
	Detail string
}

// Identifier establishes the identity of a process of a catalog app.
type Identifier interface {
	Identify(ctx context.Context, p procwatch.Process, app *policies.App) Identity
}

// Config is what the agent runs with.
type Config struct {
	StateDir string
	// RetryInterval is how often events that could not be recorded are
	// retried; 0 means 5 s.
	RetryInterval time.Duration
	Device        *vcguardv1.DeviceInfo
	Catalog       *policies.Catalog
	GOOS          string
	Processes     ProcessSource
	Identifier    Identifier
	// PolicyDir is the local (MDM) policy directory; nil for none.
	PolicyDir *policydir.Dir
	// Devices reports the cameras and microphones in use; nil for none.
	Devices MediaSource
	// Parent returns a process's parent PID, to attribute a device's
	// user to an app; nil means procwatch.Parent.
	Parent func(pid int32) (int32, error)
	// Notifier tells the user about findings; nil: nobody is told.
	Notifier Notifier
	// Enforcer closes apps under a block action; nil: block only warns.
	Enforcer Enforcer
	// StatusFile is where the agent shows what it sees and reports; "" for
	// none.
	StatusFile string
	// Group is the device group the policy's group overrides apply to.
	Group  string
	Logger *slog.Logger
	// Heartbeat of the stream; 0 means the uplink default.
	Heartbeat time.Duration
	// OutboxMaxEvents bounds the events kept unsent (offline); 0 means
	// outbox.DefaultMaxPending.
	OutboxMaxEvents int
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
	// running are the app instances: the processes of catalog apps whose
	// parent is not the same app.
	running map[procwatch.Key]*vcguardv1.AppInstance
	// helpers are the other processes of an app (renderers, meeting
	// hosts), by PID, with the instance they belong to.
	helpers map[int32]procwatch.Key
	// helperProcs are the helpers as they were reported.
	helperProcs map[int32]procwatch.Process
	// inventoried is set once the first report is recorded as an inventory.
	inventoried bool
	// pending are process changes not fully recorded yet, retried in order.
	pending []procwatch.Changes
	// local are the local policy sources in force beside the central one.
	local   []policydir.File
	localCh chan []policydir.File
	// media are the camera and microphone uses known, by Use.Key.
	media   map[string]*mediaState
	mediaCh chan []devices.Use
	// policyUnreported is set while the policy in force is not recorded
	// as applied.
	policyUnreported bool
	// deferredMedia is the latest device report that came before the
	// first process report.
	deferredMedia []devices.Use
	mediaDeferred bool
	// acts is what was last done about each instance.
	acts map[procwatch.Key]actedOn
	// blocked carries enforcement results into the Run loop; stopped is
	// closed when Run returns.
	blocked chan blockResult
	stopped chan struct{}
	// statusShown are the counters the status file shows.
	statusShown statusCounters

	// appliedVersion is read by the uplink's hello from another goroutine.
	appliedVersion atomic.Uint64
}

// New prepares an enrolled agent. A nil Logger discards the log.
func New(cfg Config, identity *uplink.Identity) (*Agent, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// The state directory (device key, outbox, policy) is the agent's
	// alone; on Windows that takes a protected access list.
	if err := fsperm.Protect(cfg.StateDir, false); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	out, err := outbox.Open(statedir.Outbox.Path(cfg.StateDir), cfg.OutboxMaxEvents)
	if err != nil {
		return nil, err
	}
	a := &Agent{
		cfg: cfg, identity: identity, matcher: cfg.Catalog.Matcher(cfg.GOOS), out: out,
		policyCh: make(chan *vcguardv1.SignedPolicy, 4), running: make(map[procwatch.Key]*vcguardv1.AppInstance),
		helpers: make(map[int32]procwatch.Key), helperProcs: make(map[int32]procwatch.Process), localCh: make(chan []policydir.File, 4),
		media: make(map[string]*mediaState), mediaCh: make(chan []devices.Use, 8),
		acts: make(map[procwatch.Key]actedOn), blocked: make(chan blockResult, 16), stopped: make(chan struct{}),
	}
	if cfg.PolicyDir != nil {
		a.local = cfg.PolicyDir.Files()
	}
	if a.cfg.Parent == nil {
		a.cfg.Parent = procwatch.Parent
	}
	if a.cfg.RetryInterval <= 0 {
		a.cfg.RetryInterval = 5 * time.Second
	}
	if err := a.loadStoredPolicy(); err != nil {
		cfg.Logger.Warn("stored policy not usable; waiting for the server's", "err", err)
	}
	return a, nil
}

// Run runs the agent until ctx ends.
func (a *Agent) Run(parent context.Context) error {
	// Every goroutine started here ends before Run returns, whichever way
	// it returns, and only then is the outbox closed.
	ctx, cancel := context.WithCancel(parent)
	var wg sync.WaitGroup
	defer a.out.Close()
	defer close(a.stopped)
	defer wg.Wait()
	defer cancel()
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
	wg.Go(func() { uplinkDone <- client.Run(ctx) })

	changes := make(chan procwatch.Changes, 64)
	procsDone := make(chan error, 1)
	wg.Go(func() {
		procsDone <- a.cfg.Processes.Run(ctx, func(ch procwatch.Changes) {
			select {
			case changes <- ch:
			case <-ctx.Done():
			}
		})
	})
	if d := a.cfg.PolicyDir; d != nil {
		if len(a.local) > 0 {
			if err := a.applyLocal(a.local); err != nil {
				a.cfg.Logger.Error("recording the local policy", "err", err)
			}
		}
		wg.Go(func() {
			if err := d.Watch(ctx, a.cfg.Logger.With("component", "policydir"), func(files []policydir.File) {
				select {
				case a.localCh <- files:
				case <-ctx.Done():
				}
			}); err != nil {
				a.cfg.Logger.Error("local policy directory not watched; changes apply at the next start", "dir", d.Path(), "err", err)
			}
		})
	}
	if a.cfg.Devices != nil {
		wg.Go(func() {
			if err := a.cfg.Devices.Run(ctx, func(us []devices.Use) {
				select {
				case a.mediaCh <- us:
				case <-ctx.Done():
				}
			}); err != nil {
				a.cfg.Logger.Error("camera/microphone watch stopped", "err", err)
			}
		})
	}
	// Left-on devices are judged by time, not only by change.
	mediaTick := time.NewTicker(30 * time.Second)
	defer mediaTick.Stop()
	retry := time.NewTicker(a.cfg.RetryInterval)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-uplinkDone:
			return err
		case err := <-procsDone:
			if err != nil {
				return fmt.Errorf("process watcher: %w", err)
			}
			procsDone = nil // it ended because ctx did
		case ch := <-changes:
			if err := a.handle(ctx, ch); err != nil {
				a.cfg.Logger.Error("recording process changes; will retry", "err", err)
			}
			if a.mediaDeferred && a.inventoried && len(a.pending) == 0 {
				a.mediaDeferred = false
				if err := a.handleMedia(a.deferredMedia, time.Now()); err != nil {
					a.cfg.Logger.Error("recording camera/microphone use", "err", err)
				}
			}
			a.writeStatus()
		case <-retry.C:
			if len(a.pending) > 0 {
				if err := a.handle(ctx, procwatch.Changes{}); err != nil {
					a.cfg.Logger.Error("recording process changes; will retry", "err", err)
				}
			}
			if err := a.reportPolicy(); err != nil {
				a.cfg.Logger.Error("recording the policy in force; will retry", "err", err)
			}
			// The server acknowledges in the background: show the count
			// of events still waiting when it changed.
			if a.statusCounters() != a.statusShown {
				a.writeStatus()
			}
		case us := <-a.mediaCh:
			// A use is attributed to the apps known to run: wait for the
			// first process report, so that a call going on while the
			// agent starts is not taken for an unknown app.
			if !a.inventoried || len(a.pending) > 0 {
				a.deferredMedia, a.mediaDeferred = us, true
				continue
			}
			if err := a.handleMedia(us, time.Now()); err != nil {
				a.cfg.Logger.Error("recording camera/microphone use", "err", err)
			}
			a.writeStatus()
		case <-mediaTick.C:
			if len(a.media) > 0 {
				if err := a.mediaFindings(time.Now()); err != nil {
					a.cfg.Logger.Error("recording camera/microphone findings", "err", err)
				}
			}
		case b := <-a.blocked:
			if err := a.recordBlock(b); err != nil {
				a.cfg.Logger.Error("recording an enforcement", "err", err)
			}
		case files := <-a.localCh:
			if err := a.applyLocal(files); err != nil {
				a.cfg.Logger.Error("recording the local policy", "err", err)
			}
			a.writeStatus()
		case sp := <-a.policyCh:
			if err := a.applyPolicy(sp); err != nil {
				a.cfg.Logger.Error("policy refused; the last good policy stays in force", "version", sp.GetVersion(), "err", err)
			}
			a.writeStatus()
		}
	}
}

// instance builds the report of a new app instance: its identity and its
// verdict under the policy in force.
func (a *Agent) instance(ctx context.Context, p procwatch.Process, app *policies.App) (*vcguardv1.AppInstance, policies.Finding) {
	id := a.cfg.Identifier.Identify(ctx, p, app)
	inst := &vcguardv1.AppInstance{
		AppId: app.ID, Name: app.Name, Pid: p.PID, Started: timestamppb.New(p.Started), Exe: p.Exe,
		Version: id.Version, Verified: id.Verified, Identity: id.Detail,
	}
	return inst, a.judge(inst)
}

// match returns the catalog app a process belongs to.
func (a *Agent) match(p procwatch.Process) (*policies.App, bool) {
	return a.matcher.MatchProcess(p.Name, p.ShortName, p.Exe != "")
}

// owner returns the instance a process with parent ppid of app belongs to,
// if its parent is that app's instance or one of its helpers.
func (a *Agent) owner(ppid int32, app *policies.App) (procwatch.Key, bool) {
	if k, ok := a.helpers[ppid]; ok {
		if inst, ok := a.running[k]; ok && inst.GetAppId() == app.ID {
			return k, true
		}
	}
	for k, inst := range a.running {
		if k.PID == ppid && inst.GetAppId() == app.ID {
			return k, true
		}
	}
	return procwatch.Key{}, false
}

// handle records a report of process changes: the first one as the
// inventory, the later ones as app starts and stops. A change that cannot
// be recorded stays pending and is retried, before any later change, until
// it is; recording is idempotent, so a partly recorded change is simply
// recorded again.
func (a *Agent) handle(ctx context.Context, ch procwatch.Changes) error {
	if !ch.Empty() || ch.Full {
		a.pending = append(a.pending, ch)
	}
	for len(a.pending) > 0 {
		if err := a.apply(ctx, a.pending[0]); err != nil {
			return err
		}
		a.pending = a.pending[1:]
	}
	a.pending = nil
	return nil
}

func (a *Agent) apply(ctx context.Context, ch procwatch.Changes) error {
	now := time.Now()
	// Parents start before their children: in start order a helper's
	// parent is known when the helper is looked at.
	started := slices.Clone(ch.Started)
	slices.SortStableFunc(started, func(x, y procwatch.Process) int {
		return cmp.Or(x.Started.Compare(y.Started), cmp.Compare(x.PID, y.PID))
	})
	if !a.inventoried {
		// Nothing is known to run before the inventory: everything
		// reported has started, and the inventory is all of it.
		running := make(map[procwatch.Key]*vcguardv1.AppInstance)
		a.running, a.helpers, a.helperProcs = running, make(map[int32]procwatch.Key), make(map[int32]procwatch.Process)
		var apps []*vcguardv1.AppInstance
		var found []acted
		for _, p := range started {
			app, ok := a.match(p)
			if !ok {
				continue
			}
			if k, ok := a.owner(p.PPID, app); ok {
				a.helpers[p.PID], a.helperProcs[p.PID] = k, p
				continue
			}
			inst, f := a.instance(ctx, p, app)
			running[p.Key()] = inst
			apps = append(apps, inst)
			found = append(found, acted{p.Key(), inst, f})
		}
		slices.SortFunc(apps, func(x, y *vcguardv1.AppInstance) int {
			return cmp.Or(cmp.Compare(x.GetPid(), y.GetPid()), x.GetStarted().AsTime().Compare(y.GetStarted().AsTime()))
		})
		if err := a.record(now, &vcguardv1.Event{Detail: &vcguardv1.Event_Inventory{Inventory: &vcguardv1.Inventory{Apps: apps, Media: a.mediaUses()}}}); err != nil {
			a.running, a.helpers, a.helperProcs = make(map[procwatch.Key]*vcguardv1.AppInstance), make(map[int32]procwatch.Key), make(map[int32]procwatch.Process)
			return err
		}
		a.inventoried = true
		for _, x := range found {
			a.act(x.key, x.inst, x.finding)
		}
		return nil
	}
	var orphans []procwatch.Process
	for _, p := range ch.Exited {
		if inst, ok := a.running[p.Key()]; ok {
			a.cfg.Logger.Info("app stopped", "app", inst.GetAppId(), "pid", inst.GetPid())
			if err := a.record(now, appEvent(vcguardv1.AppEvent_KIND_STOPPED, inst)); err != nil {
				return err
			}
			delete(a.running, p.Key())
			a.forget(p.Key())
			for pid, k := range a.helpers {
				if k == p.Key() {
					orphans = append(orphans, a.helperProcs[pid])
					delete(a.helpers, pid)
					delete(a.helperProcs, pid)
				}
			}
		} else if k, ok := a.helpers[p.PID]; ok && k.PID != p.PID {
			delete(a.helpers, p.PID)
			delete(a.helperProcs, p.PID)
		}
	}
	// Helpers that outlive their app's first process (a launcher that
	// exits, an app that daemonises) carry the app on: the oldest becomes
	// the instance, the others its helpers.
	exited := make(map[procwatch.Key]bool, len(ch.Exited))
	for _, p := range ch.Exited {
		exited[p.Key()] = true
	}
	orphans = slices.DeleteFunc(orphans, func(p procwatch.Process) bool { return exited[p.Key()] || p.PID == 0 })
	slices.SortFunc(orphans, func(x, y procwatch.Process) int {
		return cmp.Or(x.Started.Compare(y.Started), cmp.Compare(x.PID, y.PID))
	})
	promoted := map[string]procwatch.Key{}
	for _, p := range orphans {
		app, ok := a.match(p)
		if !ok {
			continue
		}
		if k, ok := promoted[app.ID]; ok {
			a.helpers[p.PID], a.helperProcs[p.PID] = k, p
			continue
		}
		inst, f := a.instance(ctx, p, app)
		a.cfg.Logger.Info("app carried on by its helper", "app", inst.GetAppId(), "pid", inst.GetPid())
		if err := a.record(now, appEvent(vcguardv1.AppEvent_KIND_STARTED, inst)); err != nil {
			return err
		}
		a.running[p.Key()] = inst
		promoted[app.ID] = p.Key()
		a.act(p.Key(), inst, f)
	}
	for _, p := range started {
		if _, known := a.running[p.Key()]; known {
			continue
		}
		if _, known := a.helpers[p.PID]; known {
			continue
		}
		app, ok := a.match(p)
		if !ok {
			continue
		}
		if k, ok := a.owner(p.PPID, app); ok {
			a.helpers[p.PID], a.helperProcs[p.PID] = k, p
			continue
		}
		inst, f := a.instance(ctx, p, app)
		a.cfg.Logger.Info("app started", "app", inst.GetAppId(), "pid", inst.GetPid(), "version", inst.GetVersion(),
			"verified", inst.GetVerified(), "verdict", inst.GetVerdict())
		if err := a.record(now, appEvent(vcguardv1.AppEvent_KIND_STARTED, inst)); err != nil {
			return err
		}
		a.running[p.Key()] = inst
		a.act(p.Key(), inst, f)
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

// Attribution is what a process using the camera or microphone belongs to.
type Attribution struct {
	// Instance is the app instance the process is or belongs to; nil when
	// no catalog app is among its ancestors.
	Instance *vcguardv1.AppInstance
	// App is the catalog entry; its Category tells a meeting app from a
	// browser (a browser call).
	App *policies.App
}

// maxAncestry bounds the walk up the process tree.
const maxAncestry = 32

// attribute finds the app instance pid belongs to: the instance itself,
// one of its helper processes, or a descendant of one (a browser's camera
// runs in a utility process its renderer started). parent returns a
// process's parent PID (procwatch.Parent).
func (a *Agent) attribute(pid int32, parent func(int32) (int32, error)) Attribution {
	for range maxAncestry {
		if pid <= 1 {
			break
		}
		if k, ok := a.helpers[pid]; ok {
			pid = k.PID
		}
		for k, inst := range a.running {
			if k.PID == pid {
				app, _ := a.cfg.Catalog.App(inst.GetAppId())
				return Attribution{Instance: inst, App: app}
			}
		}
		ppid, err := parent(pid)
		if err != nil {
			break
		}
		pid = ppid
	}
	return Attribution{}
}
