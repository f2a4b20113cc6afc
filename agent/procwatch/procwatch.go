// Package procwatch follows the processes of interest on the machine: which
// start and which exit. On Linux it listens to the kernel's netlink proc
// connector when the agent runs as root, with a full rescan every few
// minutes as a safety net, and polls /proc incrementally otherwise. On
// macOS and Windows it polls the OS's process listing incrementally: only
// processes not seen before are inspected.
//
// The watcher knows processes by their short name (Linux comm, macOS
// p_comm, Windows image name) and reads the executable path only for those
// its Filter finds interesting, so following the whole process table costs
// little more than listing it.
package procwatch

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/vcguard/vcguard/agent/proctable"
)

// Process is one running process.
type Process struct {
	PID int32
	// PPID is the parent's PID when the process was inspected.
	PPID int32
	// Started is the process start time; with PID it identifies the
	// process, since PIDs are reused.
	Started time.Time
	// Name is the base name of the executable, or the short name the OS
	// lists when the executable path cannot be read.
	Name string
	// ShortName is the name as the OS lists it: Linux truncates it to 15
	// bytes and lets a process change it.
	ShortName string
	// Exe is the executable path, or "" when the OS does not tell (another
	// user's process seen by an unprivileged agent).
	Exe string
	// Exec is when the kernel reported the exec that made the process
	// interesting (Linux's exec filter and proc connector stamp their
	// events), on the wall clock with a monotonic reading; zero for a
	// process a scan or a poll found. time.Since(Exec) is how long the
	// report took to reach whoever holds the Process.
	Exec time.Time
}

// Key identifies a process across scans.
type Key struct {
	PID     int32
	Started int64 // Unix milliseconds
}

// Key returns the process's identity.
func (p Process) Key() Key { return Key{PID: p.PID, Started: p.Started.UnixMilli()} }

// CompareKeys orders keys by PID, then start time.
func CompareKeys(a, b Key) int {
	return cmp.Or(cmp.Compare(a.PID, b.PID), cmp.Compare(a.Started, b.Started))
}

// Filter tells the watcher which processes are of interest by their short
// name, so that the executable path is read only for those. On Linux the
// name is at most 15 bytes long (see TruncateComm).
type Filter func(shortName string) bool

// Changes is what changed since the previous report.
type Changes struct {
	// Full is set when Started lists every interesting process that runs
	// (the first report, and the reports of rescans that found a change):
	// processes known before and missing from it have exited, and they
	// are listed in Exited too.
	Full bool
	// Started are the processes that started, in PID order.
	Started []Process
	// Exited are the processes that exited, in PID order.
	Exited []Process
	// Now is when the report was made on the clock the Started times are
	// read in (proctable.Table.Now), zero where that is the wall clock: a
	// process's age is Now minus its start.
	Now time.Time
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool { return len(c.Started) == 0 && len(c.Exited) == 0 }

// Mode says how the watcher learns about new processes.
type Mode string

const (
	// ModeEvents is the Linux proc connector, with periodic rescans.
	ModeEvents Mode = "events"
	// ModePoll is periodic polling of the process table.
	ModePoll Mode = "poll"
	// ModeExecFilter is the Linux exec filter: eBPF programs on the
	// scheduler's exec and exit tracepoints report only the processes
	// whose short name is one of Config.ShortNames, with periodic
	// rescans.
	ModeExecFilter Mode = "exec-filter"
)

// Config is what a Watcher runs with.
type Config struct {
	// Filter selects the processes of interest; nil means all.
	Filter Filter
	// ShortNames, when set, returns the short names Filter accepts, all
	// of them and nothing else (Filter is then an exact, case-sensitive
	// test of the short name). On Linux it lets the kernel do the
	// filtering (ModeExecFilter). It is called again after Refilter.
	ShortNames func() []string
	// PollInterval is the time between polls when the OS gives no events;
	// 0 means 2 s.
	PollInterval time.Duration
	// RescanInterval is the time between full rescans (the safety net for
	// dropped events, and for a PID reused between two polls); 0 means
	// 5 minutes.
	RescanInterval time.Duration
	// NoEvents makes the watcher poll even where the OS offers events.
	NoEvents bool
	// ProcRoot is the procfs mount on Linux; "" means /proc. Tests and
	// benchmarks point it at a synthetic process table.
	ProcRoot string
	// Logger receives the mode chosen and errors; nil discards them.
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.RescanInterval <= 0 {
		c.RescanInterval = 5 * time.Minute
	}
	if c.Filter == nil {
		c.Filter = func(string) bool { return true }
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Watcher follows the interesting processes. Its methods are not safe for
// concurrent use: one goroutine owns it.
type Watcher struct {
	cfg      Config
	refilter chan struct{} // Refilter's signal to Run
	self     int32
	tracked  map[int32]Process // the interesting processes known to run
	os       *osWatcher
}

// New returns a watcher. It does nothing until Scan, Poll or Run is called.
func New(cfg Config) *Watcher {
	cfg.defaults()
	w := &Watcher{cfg: cfg, tracked: make(map[int32]Process), refilter: make(chan struct{}, 1)}
	w.os = newOSWatcher(w)
	return w
}

// Tracked returns the interesting processes known to run, in PID order.
func (w *Watcher) Tracked() []Process {
	out := make([]Process, 0, len(w.tracked))
	for _, p := range w.tracked {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Process) int { return CompareKeys(a.Key(), b.Key()) })
	return out
}

// Scan lists every process and reports how the interesting ones changed
// since the last Scan or Poll. The result is Full.
func (w *Watcher) Scan(ctx context.Context) (Changes, error) {
	found, err := w.os.fullScan(ctx)
	if err != nil {
		return Changes{}, err
	}
	return w.replace(found), nil
}

// Poll reports how the interesting processes changed, inspecting only the
// processes that appeared since the last Scan or Poll. It is cheaper than
// Scan, at the price of missing a PID reused between two polls (the next
// Scan finds it).
func (w *Watcher) Poll(ctx context.Context) (Changes, error) {
	return w.os.poll(ctx)
}

// Run reports the processes found at start as one Full change, then every
// change as it happens, until ctx ends. It uses the OS's process events
// where it can (see Mode) and polls otherwise. emit is called from Run's
// goroutine.
func (w *Watcher) Run(ctx context.Context, emit func(Changes)) error {
	return w.os.run(ctx, emit)
}

// Refilter tells a running watcher that Filter (and ShortNames) changed:
// Run takes up the new names and rescans, so processes already running
// that the new filter wants are found at once. Unlike the other methods
// it may be called from any goroutine.
func (w *Watcher) Refilter() {
	select {
	case w.refilter <- struct{}{}:
	default:
	}
}

// replace makes found the tracked set and reports the difference as a Full
// change.
func (w *Watcher) replace(found map[int32]Process) Changes {
	ch := Changes{Full: true}
	for pid, old := range w.tracked {
		if p, ok := found[pid]; !ok || p.Key() != old.Key() || !sameExe(p.Exe, old.Exe) {
			ch.Exited = append(ch.Exited, old)
		}
	}
	for _, p := range found {
		ch.Started = append(ch.Started, p)
	}
	w.tracked = found
	sortProcs(ch.Exited)
	sortProcs(ch.Started)
	return ch
}

// started records a newly found interesting process; if another process
// was known under its PID, that one has exited (or, after an exec, has
// become this one).
func (w *Watcher) started(ch *Changes, p Process) {
	if old, ok := w.tracked[p.PID]; ok {
		if old.Key() == p.Key() && sameExe(old.Exe, p.Exe) {
			return
		}
		ch.Exited = append(ch.Exited, old)
	}
	w.tracked[p.PID] = p
	ch.Started = append(ch.Started, p)
}

// exited records that pid has gone. A process that started within the
// same report is taken out of it instead: it came and went unseen.
func (w *Watcher) exited(ch *Changes, pid int32) {
	old, ok := w.tracked[pid]
	if !ok {
		return
	}
	delete(w.tracked, pid)
	if i := slices.IndexFunc(ch.Started, func(p Process) bool { return p.Key() == old.Key() && sameExe(p.Exe, old.Exe) }); i >= 0 {
		ch.Started = slices.Delete(ch.Started, i, i+1)
		return
	}
	ch.Exited = append(ch.Exited, old)
}

// sameExe compares executable paths, a binary replaced while it runs
// (" (deleted)" on Linux, an update in place) being the same.
func sameExe(a, b string) bool { return proctable.SameExe(a, b) }

func sortProcs(ps []Process) {
	slices.SortFunc(ps, func(a, b Process) int { return CompareKeys(a.Key(), b.Key()) })
}

// finish puts a change in PID order.
func (ch *Changes) finish() {
	sortProcs(ch.Started)
	sortProcs(ch.Exited)
}

// baseName returns the last element of an executable path in the OS's
// separators ("C:\Program Files\Zoom\bin\Zoom.exe" → "Zoom.exe"), without
// the " (deleted)" Linux adds once the file was replaced.
func baseName(exe string) string { return proctable.BaseName(exe) }

// CommLen is the length to which Linux truncates a process's short name.
const CommLen = 15

// TruncateComm returns name as Linux shows it in /proc/PID/comm.
func TruncateComm(name string) string {
	if len(name) > CommLen {
		return name[:CommLen]
	}
	return name
}
