// Package execload starts short processes at a steady rate: the
// background exec load under which the agent's benchmarks measure
// detection latency and the idle agent's cost (issue 13: 1,000 exec/s
// for the latency, 100 exec/s for the idle agent). It is test and
// benchmark support only; nothing in the product imports it.
//
// A load never lies about what it did: it starts a process only when its
// schedule says so, never more than Config.MaxInFlight at once, drops the
// slots it fell too far behind on instead of bursting to catch up, and
// counts what it actually started. Result.Rate is the achieved rate, which
// on a busy or small machine may be below Config.Rate.
//
// Start runs a load in this process. Serve and Spawn run one in another
// process (cmd/execload, or a test binary re-executed), so that its forks
// do not contend with the measured process's own for the fork lock of
// the Go runtime.
package execload

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPath is the program a load starts when Config.Path is empty.
const DefaultPath = "/bin/true"

// DefaultMaxInFlight is Config.MaxInFlight's default.
const DefaultMaxInFlight = 4

// MaxRate bounds Config.Rate.
const MaxRate = 100_000

// maxLag is how far behind its schedule a load may fall and still catch
// up; slots further behind are dropped (Result.Skipped).
const maxLag = 50 * time.Millisecond

// Config describes a load. Rate is required; the zero value of the rest
// starts /bin/true with at most 4 in flight.
type Config struct {
	// Rate is the processes started per second, 1 to MaxRate.
	Rate int
	// Path is the absolute path of the program started, DefaultPath if
	// empty. It should exit at once.
	Path string
	// Args are the program's arguments after argv[0].
	Args []string
	// MaxInFlight bounds the processes started and not yet reaped;
	// DefaultMaxInFlight if 0.
	MaxInFlight int
}

func (c Config) withDefaults() Config {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	return c
}

// Validate reports what is wrong with c, its defaults applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Rate < 1 || c.Rate > MaxRate {
		return fmt.Errorf("exec load: rate %d per second is out of range (1 to %d)", c.Rate, MaxRate)
	}
	if c.MaxInFlight < 1 {
		return fmt.Errorf("exec load: at most %d processes in flight: want 1 or more", c.MaxInFlight)
	}
	if !filepath.IsAbs(c.Path) {
		return fmt.Errorf("exec load: program %q: want an absolute path", c.Path)
	}
	fi, err := os.Stat(c.Path)
	if err != nil {
		return fmt.Errorf("exec load: program: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("exec load: program %s is not a regular file", c.Path)
	}
	return nil
}

// Result is what a load did.
type Result struct {
	// Target is the rate asked for, per second.
	Target int
	// Started counts the processes started.
	Started int64
	// Failed counts the starts and waits that failed; Err is the first.
	Failed int64
	Err    error
	// Skipped counts the slots of the schedule dropped because the load
	// was more than 50 ms behind it (the machine could not keep up).
	Skipped int64
	// Peak is the most processes in flight (started, not yet reaped) at
	// once; never more than Config.MaxInFlight.
	Peak int64
	// Elapsed is the time the load ran: from Start to its end, or until
	// now for a Snapshot.
	Elapsed time.Duration
}

// Rate is the achieved rate: processes started per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Started) / r.Elapsed.Seconds()
}

// Load is a load running in this process. Start makes one; Stop ends it.
type Load struct {
	cfg    Config
	start  time.Time
	cancel context.CancelFunc
	null   *os.File
	wg     sync.WaitGroup // the dispatcher and the workers

	started, failed, skipped, inflight, peak atomic.Int64
	end                                      atomic.Int64 // UnixNano when the dispatcher stopped; 0 while running

	mu       sync.Mutex
	firstErr error

	stopOnce sync.Once
	final    Result
}

// Start validates cfg and starts the load. It runs until ctx is done or
// Stop is called; Stop must be called in either case, to reap the last
// processes and release the load's resources.
func Start(ctx context.Context, cfg Config) (*Load, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, fmt.Errorf("exec load: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	l := &Load{cfg: cfg, cancel: cancel, null: null, start: time.Now()}
	work := make(chan struct{})
	attr := &os.ProcAttr{Files: []*os.File{null, null, null}}
	argv := append([]string{cfg.Path}, cfg.Args...)
	l.wg.Add(1 + cfg.MaxInFlight)
	go l.dispatch(ctx, work)
	for range cfg.MaxInFlight {
		go l.work(work, argv, attr)
	}
	return l, nil
}

// dispatch hands out the slots of the schedule, slot i due at
// start + i/Rate seconds, each to a free worker; it closes work when ctx
// is done.
func (l *Load) dispatch(ctx context.Context, work chan<- struct{}) {
	defer l.wg.Done()
	defer close(work)
	defer func() { l.end.Store(time.Now().UnixNano()) }()
	rate := int64(l.cfg.Rate)
	due := func(i int64) time.Time {
		return l.start.Add(time.Duration(i/rate)*time.Second + time.Duration(i%rate)*time.Second/time.Duration(rate))
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := int64(0); ; i++ {
		if d := time.Until(due(i)); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		select {
		case <-ctx.Done():
			return
		case work <- struct{}{}:
		}
		// Too far behind: drop the slots missed rather than burst.
		if behind := time.Since(due(i + 1)); behind > maxLag {
			missed := int64(behind) * rate / int64(time.Second)
			l.skipped.Add(missed)
			i += missed
		}
	}
}

// work starts a process for each slot and reaps it.
func (l *Load) work(work <-chan struct{}, argv []string, attr *os.ProcAttr) {
	defer l.wg.Done()
	for range work {
		n := l.inflight.Add(1)
		for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
		}
		p, err := os.StartProcess(argv[0], argv, attr)
		if err == nil {
			l.started.Add(1)
			_, err = p.Wait()
		}
		if err != nil {
			l.failed.Add(1)
			l.mu.Lock()
			if l.firstErr == nil {
				l.firstErr = fmt.Errorf("exec load: %w", err)
			}
			l.mu.Unlock()
		}
		l.inflight.Add(-1)
	}
}

// Snapshot returns what the load did so far.
func (l *Load) Snapshot() Result {
	end := time.Now()
	if ns := l.end.Load(); ns != 0 {
		end = time.Unix(0, ns)
	}
	l.mu.Lock()
	err := l.firstErr
	l.mu.Unlock()
	return Result{
		Target: l.cfg.Rate, Started: l.started.Load(), Failed: l.failed.Load(), Err: err,
		Skipped: l.skipped.Load(), Peak: l.peak.Load(), Elapsed: end.Sub(l.start),
	}
}

// Stop ends the load, waits until every process it started is reaped, and
// returns what it did. Calling it again returns the same.
func (l *Load) Stop() Result {
	l.stopOnce.Do(func() {
		l.cancel()
		l.wg.Wait()
		l.null.Close()
		l.final = l.Snapshot()
	})
	return l.final
}

// errNoResult is returned by Process.Stop when the load process ended
// without its final line.
var errNoResult = errors.New("exec load process ended without its result")
