// Package enforce closes forbidden applications: under a policy's block
// action the agent warns the user, waits a grace period and then
// terminates the app's process tree, and does so again on every relaunch
// (each relaunch is a new process, so a new Schedule).
//
// It never touches a process that is not the finding's. A target is
// named by its procwatch.Key (PID and start time) and executable path,
// and both are checked again at the moment of termination: a PID that was
// reused, or that now runs another program, is left alone. The tree is
// the target and its descendants, found by walking parent links down from
// the target, never up or sideways.
//
// On Linux and macOS the tree is frozen (SIGSTOP) so that it cannot spawn
// new children while it is collected, then every member gets SIGTERM and
// SIGCONT, and the survivors get SIGKILL after Config.KillAfter. On Linux
// signals go through pidfds, so a PID reused between the check and the
// signal is never hit. On Windows, which has no polite signal for a
// service to send, the tree is closed with TerminateProcess, holding a
// handle on every member so that no PID of the tree can be reused
// meanwhile.
package enforce

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/vcguard/vcguard/agent/procwatch"
)

// Target is a process to close: the app instance's root process,
// identified by PID and start time so that a reused PID is never hit.
type Target struct {
	Key procwatch.Key
	// AppID names the app in logs and results; it plays no part in the
	// termination.
	AppID string
	// Exe is the executable path procwatch reported. When set, the process
	// at Key.PID must still run it (a path the binary was replaced at
	// since, "… (deleted)" on Linux, counts as the same). "" skips the
	// check.
	Exe string
}

// Result is what a termination did.
type Result struct {
	Target Target
	// Killed lists the processes that were signalled and have exited,
	// the target first, then its descendants parents before children.
	Killed []int32
	// Err is why nothing was done (ErrExited, ErrNotTarget, a permission
	// error), or what went wrong on the way (a descendant that survived
	// SIGKILL). Killed may be non-empty when Err is set.
	Err error
	// At is when the grace period ended and the enforcer acted.
	At time.Time
}

var (
	// ErrExited is reported when the target exited before its grace
	// period ended (and no Cancel came): there was nothing to close.
	ErrExited = errors.New("the process has already exited")
	// ErrNotTarget is reported when the process at the target's PID is
	// not the target (another start time: the PID was reused; or another
	// executable), or when closing it would close the agent itself. It
	// was left alone.
	ErrNotTarget = errors.New("the process is not the one found")
)

// Config is what an Enforcer runs with. The zero value works.
type Config struct {
	// KillAfter is how long the processes have between SIGTERM and
	// SIGKILL; 0 means 5 s. Windows ends processes at once and waits this
	// long for them to go.
	KillAfter time.Duration
	// Now tells the time for Result.At; nil means time.Now.
	Now func() time.Time
	// After starts a grace period; nil means time.After. Tests replace it
	// to end a grace period when they choose.
	After func(time.Duration) <-chan time.Time
	// Logger receives what was closed and why not; nil discards it.
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.KillAfter <= 0 {
		c.KillAfter = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.After == nil {
		c.After = time.After
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Enforcer schedules terminations after a grace period. It is safe for
// concurrent use. Each pending block has one goroutine, which the
// Enforcer owns: Close stops them.
type Enforcer struct {
	cfg Config
	sys *system

	mu      sync.Mutex
	pending map[procwatch.Key]*block
	closed  bool
	stop    chan struct{} // closed by Close
	wg      sync.WaitGroup
}

// block is one scheduled termination.
type block struct {
	cancel  chan struct{} // closed by Cancel
	running bool          // the grace period is over; Cancel is too late
}

// New returns an enforcer with nothing scheduled.
func New(cfg Config) *Enforcer {
	cfg.defaults()
	return &Enforcer{
		cfg:     cfg,
		sys:     newSystem(),
		pending: make(map[procwatch.Key]*block),
		stop:    make(chan struct{}),
	}
}

// Schedule closes t's process tree once grace has passed, unless
// Cancel(t.Key) is called first (the app was approved meanwhile, or it
// exited). done, when not nil, receives the result, called from the
// enforcer's goroutine; it is not called for a cancelled block, and it
// must not call Close.
//
// Scheduling a key that is already pending keeps the first deadline and
// callback. After Close, Schedule does nothing.
func (e *Enforcer) Schedule(t Target, grace time.Duration, done func(Result)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		e.cfg.Logger.Debug("block not scheduled: the enforcer is closed", "app", t.AppID, "pid", t.Key.PID)
		return
	}
	if _, ok := e.pending[t.Key]; ok {
		return
	}
	b := &block{cancel: make(chan struct{})}
	e.pending[t.Key] = b
	timer := e.cfg.After(grace)
	e.wg.Add(1)
	go e.run(t, b, timer, done)
}

// Cancel drops the pending block of the process k. It is too late once the
// grace period is over and the termination has begun.
func (e *Enforcer) Cancel(k procwatch.Key) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.pending[k]
	if !ok || b.running {
		return
	}
	delete(e.pending, k)
	close(b.cancel)
}

// Close cancels every pending block and waits for the enforcer's
// goroutines to return. A termination already under way is finished
// first (it takes at most about KillAfter plus 5 s), so that no process is
// left stopped.
func (e *Enforcer) Close() {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.stop)
	}
	e.mu.Unlock()
	e.wg.Wait()
}

func (e *Enforcer) run(t Target, b *block, timer <-chan time.Time, done func(Result)) {
	defer e.wg.Done()
	select {
	case <-timer:
	case <-b.cancel:
		return
	case <-e.stop:
		return
	}
	// The timer and a Cancel or Close may have come together; the state
	// under the lock decides.
	e.mu.Lock()
	if e.closed || e.pending[t.Key] != b {
		e.mu.Unlock()
		return
	}
	b.running = true
	e.mu.Unlock()

	log := e.cfg.Logger.With("app", t.AppID, "pid", t.Key.PID)
	res := Result{Target: t, At: e.cfg.Now()}
	res.Killed, res.Err = e.sys.terminate(t, e.cfg.KillAfter)
	switch {
	case res.Err == nil:
		log.Info("closed a blocked app", "killed", res.Killed)
	case errors.Is(res.Err, ErrExited):
		log.Info("blocked app had already exited", "err", res.Err)
	default:
		log.Warn("could not close a blocked app", "killed", res.Killed, "err", res.Err)
	}

	// Forget the block before reporting, so that done may schedule the
	// same key again.
	e.mu.Lock()
	delete(e.pending, t.Key)
	e.mu.Unlock()
	if done != nil {
		done(res)
	}
}
