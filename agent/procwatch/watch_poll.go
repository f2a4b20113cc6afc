//go:build darwin || windows

package procwatch

import (
	"context"
	"os"
	"time"

	"github.com/vcguard/vcguard/agent/proctable"
)

// entryKey identifies a listed process cheaply: macOS lists start times,
// Windows only names, so a reused PID is told apart there by its name (and
// for interesting processes by the start time checked on every poll).
type entryKey struct {
	pid     int32
	started int64
	name    string
}

// osWatcher polls the OS's process listing (macOS: one sysctl; Windows:
// one Toolhelp snapshot) and inspects only processes not seen before.
type osWatcher struct {
	w    *Watcher
	tab  *proctable.Table
	seen map[entryKey]uint32
	gen  uint32
}

func newOSWatcher(w *Watcher) *osWatcher {
	w.self = int32(os.Getpid())
	return &osWatcher{w: w, tab: proctable.New(proctable.Config{}), seen: make(map[entryKey]uint32)}
}

func keyOf(e proctable.Entry) entryKey {
	return entryKey{pid: e.PID, started: e.Start, name: e.Name}
}

// inspect completes what the listing says about an interesting process.
func (o *osWatcher) inspect(e proctable.Entry) (Process, error) {
	id := e.ID
	if id.Start == 0 { // Windows: the listing carries no start time
		var err error
		if id, err = o.tab.StartOf(e.PID); err != nil {
			return Process{}, err
		}
	}
	started, err := o.tab.Time(id.Start)
	if err != nil {
		return Process{}, err
	}
	p := Process{PID: e.PID, PPID: e.PPID, Started: started, Name: e.Name, ShortName: e.Name}
	if exe, err := o.tab.Exe(e.PID); err == nil && exe != "" {
		p.Exe = exe
		p.Name = baseName(exe)
	}
	return p, nil
}

func (o *osWatcher) interesting(e proctable.Entry) bool {
	return e.PID != o.w.self && e.PID != 0 && o.w.cfg.Filter(e.Name)
}

func (o *osWatcher) fullScan(ctx context.Context) (map[int32]Process, error) {
	entries, err := o.tab.List()
	if err != nil {
		return nil, err
	}
	o.gen++
	found := make(map[int32]Process, len(o.w.tracked)+4)
	for _, e := range entries {
		o.seen[keyOf(e)] = o.gen
		if !o.interesting(e) {
			continue
		}
		if p, err := o.inspect(e); err == nil {
			found[e.PID] = p
		}
	}
	o.forgetUnseen()
	return found, nil
}

func (o *osWatcher) forgetUnseen() {
	for k, g := range o.seen {
		if g != o.gen {
			delete(o.seen, k)
		}
	}
}

func (o *osWatcher) poll(ctx context.Context) (Changes, error) {
	entries, err := o.tab.List()
	if err != nil {
		return Changes{}, err
	}
	o.gen++
	var ch Changes
	listed := make(map[int32]bool, len(o.w.tracked))
	for _, e := range entries {
		k := keyOf(e)
		if _, ok := o.w.tracked[e.PID]; ok {
			listed[e.PID] = true
		}
		_, known := o.seen[k]
		o.seen[k] = o.gen
		if known || !o.interesting(e) {
			continue
		}
		if p, err := o.inspect(e); err == nil {
			o.w.started(&ch, p)
			// Listed now: the loop below must not take it for gone.
			listed[e.PID] = true
		}
	}
	o.forgetUnseen()
	for pid, old := range o.w.tracked {
		if !listed[pid] {
			o.w.exited(&ch, pid)
			continue
		}
		// The listing does not say when a Windows process started: check
		// that the known one still holds its PID.
		if t, err := o.startTime(pid); err != nil || !t.Equal(old.Started) {
			o.w.exited(&ch, pid)
		}
	}
	ch.finish()
	return ch, nil
}

func (o *osWatcher) run(ctx context.Context, emit func(Changes)) error {
	ch, err := o.w.Scan(ctx)
	if err != nil {
		return err
	}
	emit(ch)
	return pollLoop(ctx, o.w, emit)
}

// startTime reads when the process holding pid now started.
func (o *osWatcher) startTime(pid int32) (time.Time, error) {
	id, err := o.tab.StartOf(pid)
	if err != nil {
		return time.Time{}, err
	}
	return o.tab.Time(id.Start)
}

// Parent returns the PID of pid's parent from the OS's process listing.
func Parent(pid int32) (int32, error) {
	return proctable.New(proctable.Config{}).Parent(pid)
}
