// Package agent runs the vcguard agent's one-way pipeline:
//
//	sources ──► state ──► identify ──► policies ──► actions
//	(procwatch,  (agent/     (appid)      (verdicts,   (notify,
//	 devices,     state)                   media        enforce)
//	 policies)                             findings)       │
//	                     every change and finding ──► events ──► outbox
//
// Process reports and device reports go into the pure state (agent/state),
// which says which app instances started and stopped and which device
// uses began and ended; the new instances are identified (the only I/O on
// the way); package policies judges them, and the device uses; actions act
// on the findings; and what happened is recorded, as protobuf only at this
// edge, in the durable outbox that main hands in and the uplink drains.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/agent/outbox"
	"github.com/vcguard/vcguard/agent/policydir"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/state"
	"github.com/vcguard/vcguard/agent/statedir"
	"github.com/vcguard/vcguard/agent/uplink"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// policyFile keeps the last good signed policy in the state directory.
var policyFile = statedir.Policy.Name

// ProcessSource reports which processes of interest start and exit: a
// *procwatch.Watcher, or a fake in tests.
type ProcessSource interface {
	Run(ctx context.Context, emit func(procwatch.Changes)) error
}

// MediaSource reports the cameras and microphones in use (*devices.Watcher).
type MediaSource interface {
	Run(ctx context.Context, emit func([]devices.Use)) error
}

// Identifier establishes the identity of a process of a catalog app.
type Identifier interface {
	Identify(ctx context.Context, p procwatch.Process, app *policies.App) state.Identity
}

// Config is what the agent runs with. Main builds the parts (the outbox,
// the sources, the notifier, the enforcer) and hands them in.
type Config struct {
	// StateDir holds the last good policy (statedir.Policy).
	StateDir string
	// Outbox records the events; required. The agent does not close it.
	Outbox *outbox.Outbox
	// RetryInterval is how often events that could not be recorded are
	// retried; 0 means 5 s.
	RetryInterval time.Duration
	// Catalog is the catalog built into the agent, CatalogVersion its
	// version (policies.EmbeddedCatalogVersion), CatalogExtra local
	// entries (--catalog-dir) added to it and to every catalog version
	// the server pushes. A pushed version above CatalogVersion, cached in
	// the state directory, replaces Catalog from the next start on.
	Catalog        *policies.Catalog
	CatalogVersion uint64
	CatalogExtra   []*policies.App
	// OnCatalog, when set, is called with each catalog that comes into
	// use after start (from the Run goroutine), e.g. to point the
	// process watcher's filter at it.
	OnCatalog  func(*policies.Catalog)
	GOOS       string
	Processes  ProcessSource
	Identifier Identifier
	// PolicyDir is the local (MDM) policy directory; nil for none.
	PolicyDir *policydir.Dir
	// Devices reports the cameras and microphones in use; nil for none.
	Devices MediaSource
	// Parent returns a process's parent PID, to find the app a device's
	// user belongs to; nil means procwatch.Parent.
	Parent func(pid int32) (int32, error)
	// Notifier tells the user about findings; nil: nobody is told.
	Notifier Notifier
	// Enforcer closes apps under a block action; nil: block only warns.
	Enforcer Enforcer
	// Setups reads which servers and accounts an app is set up for; nil:
	// not read.
	Setups SetupReader
	// Posture reads an approved app's own settings and watches its
	// recording folder during a meeting; nil: not read.
	Posture PostureReader
	// PostureInterval is how often the settings of the apps running are
	// read again (a setting changed while the app runs); 0 means 15
	// minutes.
	PostureInterval time.Duration
	// Sites reads which sites a browser lets use the camera and
	// microphone; nil: not read.
	Sites SiteReader
	// BrowserPolicy writes the browsers' managed camera and microphone
	// policies; nil: never written.
	BrowserPolicy BrowserPolicyWriter
	// StatusFile is where the agent shows what it sees and reports; "" for
	// none.
	StatusFile string
	// Group is the device group the policy's group overrides apply to.
	Group  string
	Logger *slog.Logger
	// Version is the agent's version as main knows it (-ldflags), shown in
	// the status file; "" takes what the Go build recorded.
	Version string
}

// maxQueued bounds the events waiting for the outbox while it fails (a
// full disk); beyond it the oldest are lost, and counted in the log.
const maxQueued = 10000

// Agent is the running agent.
type Agent struct {
	cfg      Config
	identity *uplink.Identity
	matcher  *policies.Matcher
	out      *outbox.Outbox
	policyCh chan *vcguardv1.SignedPolicy
	// groupCh carries a device group the server sent into the Run loop.
	groupCh chan string
	// catalogCh carries pushed catalogs into the Run loop;
	// catalogChanged signals the uplink that the version in use changed.
	catalogCh      chan *vcguardv1.SignedCatalog
	catalogChanged chan struct{}

	// Owned by the Run goroutine.
	policy        *policies.Policy
	policyVersion uint64
	// policySigned is the central policy in force as signed, to check it
	// again against a new catalog; pendingPolicy a newer one refused
	// because it names an app the catalog in use does not know yet (it is
	// tried again when a newer catalog arrives).
	policySigned  *vcguardv1.SignedPolicy
	pendingPolicy *vcguardv1.SignedPolicy
	// catalogVersion is the version of the catalog in use (cfg.Catalog);
	// catalogFromServer is set when it came from the server.
	catalogVersion    uint64
	catalogFromServer bool
	// policyUnreported is set while the policy in force is not recorded
	// as applied.
	policyUnreported bool
	// local are the local policy sources in force beside the central one.
	local   []policydir.File
	localCh chan []policydir.File
	// apps and media are what runs and what is in use.
	apps  *state.Apps
	media *state.Media
	// judged is each instance's finding under the policies in force.
	judged map[procwatch.Key]judgement
	// mediaReported are the findings recorded for each device use.
	mediaReported map[string]map[policies.MediaFindingKind]bool
	// lastUse is when each instance's last camera or microphone use
	// ended, while it runs on unused; leftRunning are those reported as
	// left running.
	lastUse     map[procwatch.Key]time.Time
	leftRunning map[procwatch.Key]bool
	mediaCh     chan []devices.Use
	// deferredMedia is the latest device report that came before the
	// first process report.
	deferredMedia []devices.Use
	mediaDeferred bool
	// queue are the events not in the outbox yet, in order: an event that
	// cannot be recorded waits there, and every later one behind it.
	queue []*vcguardv1.Event
	lost  int
	// blocked carries enforcement results into the Run loop; stopped is
	// closed when Run returns.
	blocked chan blockResult
	stopped chan struct{}
	// statusShown are the counters the status file shows.
	statusShown statusCounters
	// setups are the setups read of running instances; sitesReported the
	// browser uses whose sites were reported; browserPolicyShown the last
	// recorded outcome of writing the browsers' policies.
	setups             map[procwatch.Key]setupState
	postures           map[procwatch.Key]postureState
	recordingCh        chan recordingSeen
	sitesReported      map[string]bool
	browserPolicyShown string

	// appliedVersion is read by the uplink's hello from another goroutine.
	appliedVersion atomic.Uint64
	// catalogInUse is the catalog version in use, for the uplink.
	catalogInUse atomic.Uint64
}

// judgement is an instance's finding and the central policy version it
// was judged under.
type judgement struct {
	finding       policies.Finding
	policyVersion uint64
}

// New prepares an enrolled agent. A nil Logger discards the log.
func New(cfg Config, identity *uplink.Identity) (*Agent, error) {
	if cfg.Outbox == nil {
		return nil, errors.New("agent: no outbox")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Parent == nil {
		cfg.Parent = procwatch.Parent
	}
	if cfg.PostureInterval <= 0 {
		cfg.PostureInterval = 15 * time.Minute
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 5 * time.Second
	}
	// A cached catalog newer than the built-in one comes first: the
	// stored policy may name an app only it knows.
	catalogVersion, fromServer := cfg.CatalogVersion, false
	if sc, cat, err := loadStoredCatalog(cfg, identity); err != nil {
		cfg.Logger.Warn("cached catalog not usable; using the built-in one until the server sends a newer one", "err", err)
	} else if cat != nil {
		cfg.Catalog, catalogVersion, fromServer = cat, sc.GetVersion(), true
		cfg.Logger.Info("catalog loaded from the cache", "version", catalogVersion, "built_in", cfg.CatalogVersion, "apps", len(cat.Apps()))
	}
	matcher := cfg.Catalog.Matcher(cfg.GOOS)
	a := &Agent{
		cfg: cfg, identity: identity, matcher: matcher, out: cfg.Outbox,
		policyCh: make(chan *vcguardv1.SignedPolicy, 4), groupCh: make(chan string, 4), localCh: make(chan []policydir.File, 4),
		catalogCh: make(chan *vcguardv1.SignedCatalog, 2), catalogChanged: make(chan struct{}, 1),
		catalogVersion: catalogVersion, catalogFromServer: fromServer,
		apps: state.NewApps(matcher), media: state.NewMedia(), judged: map[procwatch.Key]judgement{},
		mediaReported: map[string]map[policies.MediaFindingKind]bool{}, mediaCh: make(chan []devices.Use, 8),
		lastUse: map[procwatch.Key]time.Time{}, leftRunning: map[procwatch.Key]bool{},
		blocked: make(chan blockResult, 16), stopped: make(chan struct{}),
		setups: map[procwatch.Key]setupState{}, sitesReported: map[string]bool{},
		postures: map[procwatch.Key]postureState{}, recordingCh: make(chan recordingSeen, 16),
		browserPolicyShown: browserPolicyKey(&vcguardv1.BrowserPolicy{}),
	}
	a.catalogInUse.Store(catalogVersion)
	if cfg.PolicyDir != nil {
		a.local = cfg.PolicyDir.Files()
	}
	if err := a.loadStoredPolicy(); err != nil {
		cfg.Logger.Warn("stored policy not usable; waiting for the server's", "err", err)
	}
	return a, nil
}

// Hello returns the uplink's hello: the device and the policy version
// applied. Safe from any goroutine.
func (a *Agent) Hello(device *vcguardv1.DeviceInfo) func() *vcguardv1.Hello {
	return func() *vcguardv1.Hello {
		return &vcguardv1.Hello{Device: device, PolicyVersion: a.appliedVersion.Load(), CatalogVersion: a.catalogInUse.Load()}
	}
}

// OnPolicy hands a policy the server pushed to the Run loop, which
// verifies and applies it; it returns without it once Run has returned.
// Safe from any goroutine (the uplink's).
func (a *Agent) OnPolicy(sp *vcguardv1.SignedPolicy) {
	select {
	case a.policyCh <- sp:
	case <-a.stopped:
	}
}

// OnGroup hands the Run loop a new device group (an admin moved the
// device): the policy's group overrides in force change, so everything
// running is judged again.
func (a *Agent) OnGroup(group string) {
	select {
	case a.groupCh <- group:
	case <-a.stopped:
	}
}

// Run runs the agent until ctx ends or the process source fails.
func (a *Agent) Run(parent context.Context) error {
	// Every goroutine started here ends before Run returns.
	ctx, cancel := context.WithCancel(parent)
	var wg sync.WaitGroup
	defer close(a.stopped)
	defer wg.Wait()
	defer cancel()

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
			a.logErr("recording the local policy", a.applyLocal(a.local))
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
	a.applyBrowserPolicy(time.Now())
	a.logErr("recording the browser policies", a.flush())
	// Left-on devices are judged by time, not only by change.
	mediaTick := time.NewTicker(30 * time.Second)
	defer mediaTick.Stop()
	postureTick := time.NewTicker(a.cfg.PostureInterval)
	defer postureTick.Stop()
	retry := time.NewTicker(a.cfg.RetryInterval)
	defer retry.Stop()
	// held fires when a possible launcher is due to be judged.
	held := time.NewTimer(time.Hour)
	held.Stop()
	defer held.Stop()
	delivered := a.deliveries()
	armHeld := func() {
		if due, ok := a.apps.NextDue(); ok {
			held.Reset(max(time.Until(due), 0))
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-procsDone:
			if err != nil {
				return fmt.Errorf("process watcher: %w", err)
			}
			procsDone = nil // it ended because ctx did
		case ch := <-changes:
			a.logErr("recording process changes; will retry", a.handle(ctx, ch))
			armHeld()
			if a.mediaDeferred && a.apps.Inventoried() {
				a.mediaDeferred = false
				a.logErr("recording camera/microphone use", a.handleMedia(ctx, a.deferredMedia, time.Now()))
			}
			a.writeStatus()
		case <-held.C:
			a.logErr("recording process changes; will retry", a.judgeHeld(ctx))
			armHeld()
			a.writeStatus()
		case <-retry.C:
			a.logErr("recording events; will retry", a.flush())
			a.logErr("recording the policy in force; will retry", a.reportPolicy())
			// The server acknowledges in the background: show the count
			// of events still waiting when it changed.
			if a.statusCounters() != a.statusShown {
				a.writeStatus()
			}
		case us := <-a.mediaCh:
			// A use is attributed to the apps known to run: wait for the
			// first process report, so that a call going on while the
			// agent starts is not taken for an unknown app.
			if !a.apps.Inventoried() {
				a.deferredMedia, a.mediaDeferred = us, true
				continue
			}
			a.logErr("recording camera/microphone use", a.handleMedia(ctx, us, time.Now()))
			a.writeStatus()
		case <-mediaTick.C:
			if a.media.Len() > 0 || len(a.lastUse) > 0 {
				a.logErr("recording camera/microphone findings", a.mediaFindings(time.Now()))
			}
		case d := <-delivered:
			a.logErr("recording a notice", a.recordDelivery(d))
		case b := <-a.blocked:
			a.logErr("recording an enforcement", a.recordBlock(b))
		case <-postureTick.C:
			if len(a.postures) > 0 {
				a.rereadPostures(ctx, time.Now())
				a.logErr("recording app settings", a.flush())
			}
		case rs := <-a.recordingCh:
			a.logErr("recording a local recording", a.recorded(time.Now(), rs))
		case files := <-a.localCh:
			a.logErr("recording the local policy", a.applyLocal(files))
			a.writeStatus()
		case sc := <-a.catalogCh:
			if err := a.applyCatalog(sc); err != nil {
				a.cfg.Logger.Error("catalog refused; the catalog in use stays", "version", sc.GetVersion(), "in_use", a.catalogVersion, "err", err)
			}
			a.writeStatus()
		case sp := <-a.policyCh:
			if err := a.applyPolicy(sp); err != nil {
				a.cfg.Logger.Error("policy refused; the last good policy stays in force", "version", sp.GetVersion(), "err", err)
			}
			a.writeStatus()
		case g := <-a.groupCh:
			if g != a.cfg.Group {
				a.cfg.Logger.Info("device group changed: judging again", "group", g, "was", a.cfg.Group)
				a.cfg.Group = g
				a.rejudge(time.Now())
				a.logErr("record the new judgements", a.flush())
			}
			a.writeStatus()
		}
	}
}

func (a *Agent) logErr(msg string, err error) {
	if err != nil {
		a.cfg.Logger.Error(msg, "err", err)
	}
}

// policies returns the policies in force: the central one (nil before
// any) and the usable local drop-ins.
func (a *Agent) policies() []*policies.Policy {
	ps := []*policies.Policy{a.policy}
	for _, f := range a.local {
		if f.Policy != nil {
			ps = append(ps, f.Policy)
		}
	}
	return ps
}

// WakeSlice is the time slice the agent's threads ask the scheduler for
// (package schedslice; Linux 6.12 and later): about what the agent runs
// when it wakes for an app's start, so that on a busy machine it acts on
// the start at once instead of waiting out the running task's slice,
// without a higher priority (BenchmarkExecToFinding compares it with the
// kernel's default).
const WakeSlice = 300 * time.Microsecond
