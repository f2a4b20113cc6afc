package procwatch

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"
	"unsafe"

	"github.com/vcguard/vcguard/agent/proctable"
	"golang.org/x/sys/unix"
)

// osWatcher reads procfs through a proctable.Table, which lists the PIDs
// with getdents into a reused buffer and reads each file with openat
// relative to the procfs root: the floor of any scan is one open, read
// and close per process, and the watcher stays close to it by reading
// only comm for every process and stat and exe only for the interesting
// ones.
type osWatcher struct {
	w     *Watcher
	tab   *proctable.Table
	pids  []int32
	commb []byte

	// seen holds every PID found by the last listing, with the generation
	// that saw it, so that Poll inspects only new PIDs.
	seen map[int32]uint32
	gen  uint32

	// fresh holds the PIDs a poll found new but not interesting, with when
	// that poll ran. A process caught between fork and exec still bears
	// its parent's name; as seen is keyed by PID alone, it would not be
	// looked at again until the next rescan (minutes later) and an app
	// started that way would go unreported. Its name is read again on the
	// polls of the next freshWindow, which costs one comm read per new
	// process and poll in that window.
	fresh map[int32]time.Time

	// filter is the exec filter while it is the event source.
	filter *execFilter
}

// freshWindow is how long a new, uninteresting PID's name is re-read on
// every poll: long enough for a fork to reach its exec on a loaded
// machine, and at least one further poll.
func (o *osWatcher) freshWindow() time.Duration {
	return max(time.Second, 2*o.w.cfg.PollInterval)
}

func newOSWatcher(w *Watcher) *osWatcher {
	w.self = int32(os.Getpid())
	return &osWatcher{
		w: w, tab: proctable.New(proctable.Config{ProcRoot: w.cfg.ProcRoot}),
		commb: make([]byte, 0, 64), seen: make(map[int32]uint32), fresh: make(map[int32]time.Time),
	}
}

// listPIDs lists the processes into o.pids.
func (o *osWatcher) listPIDs() error {
	var err error
	o.pids, err = o.tab.AppendPIDs(o.pids[:0])
	return err
}

// interesting reads pid's short name and tells whether the filter wants it.
func (o *osWatcher) interesting(pid int32) bool {
	if pid == o.w.self {
		return false
	}
	c, err := o.tab.AppendComm(o.commb[:0], pid)
	o.commb = c
	if err != nil {
		return false // exited
	}
	return o.w.cfg.Filter(unsafe.String(unsafe.SliceData(c), len(c)))
}

// inspect reads what the watcher reports about an interesting process.
// It fails for a process that has exited, also one not reaped yet.
func (o *osWatcher) inspect(pid int32) (Process, error) {
	st, err := o.tab.Stat(pid)
	if err != nil {
		return Process{}, err
	}
	p := Process{PID: pid, PPID: st.PPID, ShortName: st.Name, Name: st.Name, Started: st.Started}
	if exe, err := o.tab.Exe(pid); err == nil && exe != "" {
		p.Exe = exe
		p.Name = baseName(exe)
	}
	return p, nil
}

// fullScan reads the short name of every process and inspects the
// interesting ones.
func (o *osWatcher) fullScan(ctx context.Context) (map[int32]Process, error) {
	if err := o.listPIDs(); err != nil {
		return nil, err
	}
	o.gen++
	found := make(map[int32]Process, len(o.w.tracked)+4)
	for i, pid := range o.pids {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		o.seen[pid] = o.gen
		if !o.interesting(pid) {
			continue
		}
		if p, err := o.inspect(pid); err == nil {
			found[pid] = p
		}
	}
	o.forgetUnseen()
	return found, nil
}

// forgetUnseen drops the PIDs the last listing did not find.
func (o *osWatcher) forgetUnseen() {
	for pid, g := range o.seen {
		if g != o.gen {
			delete(o.seen, pid)
			delete(o.fresh, pid)
		}
	}
}

// poll lists the PIDs and inspects only the new ones; the known
// interesting processes are checked to still be the same process.
func (o *osWatcher) poll(ctx context.Context) (Changes, error) {
	if err := o.listPIDs(); err != nil {
		return Changes{}, err
	}
	o.gen++
	now := time.Now()
	var ch Changes
	for _, pid := range o.pids {
		_, known := o.seen[pid]
		o.seen[pid] = o.gen
		if known {
			first, fresh := o.fresh[pid]
			if !fresh {
				continue
			}
			if now.Sub(first) > o.freshWindow() {
				delete(o.fresh, pid)
				continue
			}
			if _, tracked := o.w.tracked[pid]; tracked {
				delete(o.fresh, pid)
				continue
			}
		}
		if o.interesting(pid) {
			delete(o.fresh, pid)
			if p, err := o.inspect(pid); err == nil {
				o.w.started(&ch, p)
			}
		} else if !known {
			o.fresh[pid] = now
		}
	}
	o.forgetUnseen()
	for pid, old := range o.w.tracked {
		if _, ok := o.seen[pid]; !ok {
			o.w.exited(&ch, pid)
			continue
		}
		// Still listed: the same process, a process that exec'd another
		// image (a launcher handing over, or an app becoming something
		// else), or (rarely) a reused PID.
		if p, err := o.inspect(pid); err != nil {
			o.w.exited(&ch, pid)
		} else if p.Key() != old.Key() || !sameExe(p.Exe, old.Exe) {
			o.w.exited(&ch, pid)
			if o.interesting(pid) {
				o.w.started(&ch, p)
			}
		}
	}
	ch.finish()
	return ch, nil
}

// onExec handles a proc connector exec event: pid runs a new image.
func (o *osWatcher) onExec(ch *Changes, ev procEvent) {
	pid := ev.PID
	o.seen[pid] = o.gen
	if !o.interesting(pid) {
		o.w.exited(ch, pid) // an app that exec'd something else
		return
	}
	p, err := o.inspect(pid)
	if err != nil {
		o.w.exited(ch, pid)
		return
	}
	p.Exec = monotonicTime(ev.At)
	o.w.started(ch, p)
}

// monotonicTime turns a stamp of the kernel's monotonic clock (ns) into a
// time.Time that carries a monotonic reading, so that time.Since of it is
// the stamp's age; zero for no stamp.
func monotonicTime(at uint64) time.Time {
	var ts unix.Timespec
	if at == 0 || unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return time.Time{}
	}
	now := time.Now()
	n := uint64(ts.Nano())
	if at > n {
		return now
	}
	return now.Add(-time.Duration(n - at))
}

// eventSource is where the watcher learns of execs and exits: the kernel's
// exec filter or the proc connector.
type eventSource interface {
	read(buf []procEvent) ([]procEvent, error)
	Close() error
}

// openEvents opens the best event source this process may use: the exec
// filter when the watcher's filter is a set of names (Config.ShortNames)
// and eBPF may be loaded, else the proc connector. It returns nil, and
// the reasons, when there is none.
func (o *osWatcher) openEvents() (eventSource, Mode, []any) {
	var why []any
	if o.w.cfg.ShortNames != nil {
		f, err := openExecFilter(o.w.cfg.ShortNames(), execFilterRingBytes)
		if err == nil {
			o.filter = f
			return f, ModeExecFilter, nil
		}
		why = append(why, "exec_filter", err)
	}
	c, err := openConnector()
	if err == nil {
		return c, ModeEvents, why
	}
	return nil, ModePoll, append(why, "reason", err)
}

func (o *osWatcher) run(ctx context.Context, emit func(Changes)) error {
	defer o.tab.Close()
	log := o.w.cfg.Logger
	var src eventSource
	if !o.w.cfg.NoEvents && o.w.cfg.ProcRoot == "" {
		// Subscribe before the first scan, so no start falls between.
		var mode Mode
		var why []any
		src, mode, why = o.openEvents()
		if src == nil {
			log.Info("process events unavailable; polling", append([]any{"interval", o.w.cfg.PollInterval}, why...)...)
		} else {
			defer src.Close()
			log.Info("following process events", append([]any{"mode", mode, "rescan", o.w.cfg.RescanInterval}, why...)...)
		}
	}
	ch, err := o.w.Scan(ctx)
	if err != nil {
		return err
	}
	o.trackScanned()
	emit(o.stamp(ch))
	if src == nil {
		return o.pollLoop(ctx, emit)
	}

	// The reader handles the events itself, under mu: handing each batch
	// to another goroutine cost a second wake-up per event (a channel
	// send, often another OS thread woken), which was most of the agent's
	// CPU under a load of short processes. The rescans take mu too, so
	// the watcher's state and emit are used by one goroutine at a time.
	var mu sync.Mutex
	failed := make(chan error, 1)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]procEvent, 0, 64)
		for {
			evs, err := src.read(buf)
			if err != nil && !errors.Is(err, errOverrun) {
				failed <- err
				return
			}
			mu.Lock()
			var ch Changes
			for _, ev := range evs {
				switch ev.Kind {
				case procExec:
					o.onExec(&ch, ev)
				case procExit:
					o.w.exited(&ch, ev.PID)
				}
			}
			ch.finish()
			if !ch.Empty() {
				emit(o.stamp(ch))
			}
			var rerr error
			if err != nil { // errOverrun
				log.Warn("the kernel dropped process events; rescanning")
				rerr = o.rescan(ctx, emit)
			}
			mu.Unlock()
			if rerr != nil {
				failed <- rerr
				return
			}
			if ctx.Err() != nil {
				return
			}
		}
	}()
	defer func() { src.Close(); <-readerDone }()

	rescan := time.NewTicker(o.w.cfg.RescanInterval)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rescan.C:
			mu.Lock()
			err := o.rescan(ctx, emit)
			mu.Unlock()
			if err != nil {
				return err
			}
		case <-o.w.refilter:
			mu.Lock()
			err := o.refilter(ctx, emit)
			mu.Unlock()
			if err != nil {
				return err
			}
		case err := <-failed:
			if ctx.Err() != nil {
				return nil
			}
			src.Close()
			<-readerDone
			o.filter = nil
			log.Warn("process events failed; polling", "err", err)
			return o.pollLoop(ctx, emit)
		}
	}
}

// refilter takes up a new filter: the exec filter's names are replaced
// and a rescan finds the running processes the new filter wants (and
// drops those it no longer wants).
func (o *osWatcher) refilter(ctx context.Context, emit func(Changes)) error {
	if o.filter != nil {
		if err := o.filter.setNames(o.w.cfg.ShortNames()); err != nil {
			o.w.cfg.Logger.Warn("exec filter: names not updated", "err", err)
		}
	}
	return o.rescan(ctx, emit)
}

// trackScanned tells the exec filter which processes a scan found, so
// that their exits are reported.
func (o *osWatcher) trackScanned() {
	if o.filter == nil {
		return
	}
	pids := make([]int32, 0, len(o.w.tracked))
	for pid := range o.w.tracked {
		pids = append(pids, pid)
	}
	if err := o.filter.track(pids); err != nil {
		o.w.cfg.Logger.Warn("exec filter", "err", err)
	}
}

// rescan runs a full scan; a failure (a process table that cannot be
// read once) is logged and the next rescan tries again, as the poll loop
// does.
func (o *osWatcher) rescan(ctx context.Context, emit func(Changes)) error {
	ch, err := o.w.Scan(ctx)
	if err != nil {
		if ctx.Err() == nil {
			o.w.cfg.Logger.Warn("process rescan failed", "err", err)
		}
		return nil
	}
	o.trackScanned()
	if !ch.Empty() {
		emit(o.stamp(ch))
	}
	return nil
}

// stamp sets when the report was made on the process clock.
func (o *osWatcher) stamp(ch Changes) Changes {
	ch.Now = o.tab.Now()
	return ch
}

func (o *osWatcher) pollLoop(ctx context.Context, emit func(Changes)) error {
	return pollLoop(ctx, o.w, func(ch Changes) { emit(o.stamp(ch)) })
}

// Parent returns the PID of pid's parent, read from /proc.
func Parent(pid int32) (int32, error) {
	tab := proctable.New(proctable.Config{})
	defer tab.Close()
	return tab.Parent(pid)
}
