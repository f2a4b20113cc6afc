// Package state is the agent's picture of what runs and what is in use:
// the instances of catalog apps with their helper processes, and the
// cameras and microphones in use with the app each use belongs to. It is
// pure: process and device changes go in, typed deltas come out; it does
// no I/O, reads no clock and knows no wire format, so every rule is
// table-tested. What needs I/O (identifying an executable, walking a
// process's ancestry) is done by the caller and handed in.
package state

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/vcguard/vcguard/agent/proctable"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/policies"
)

// Identity is what was established about an instance's executable.
type Identity struct {
	// Version of the app, "" when none could be read.
	Version string
	// Verified is set when the executable's signature, bundle, publisher
	// or owning package proves the genuine app.
	Verified bool
	// Detail says how it was verified, or why not.
	Detail string
}

// Instance is one running app: a process of a catalog app whose parent is
// not a process of the same app.
type Instance struct {
	Process procwatch.Process
	App     *policies.App
	// Identity is the zero Identity until the caller sets it (SetIdentity).
	Identity Identity
	// CarriedOn is set when the instance was a helper that outlived the
	// app's first process (a launcher that exited).
	CarriedOn bool
}

// Key identifies the instance.
func (i Instance) Key() procwatch.Key { return i.Process.Key() }

// AppDelta is what one process report changed.
type AppDelta struct {
	// Inventory is set for the first report: Started is then every
	// instance that runs, and nothing stopped.
	Inventory bool
	// Stopped are the instances that exited, in the report's exit order.
	Stopped []Instance
	// Started are the new instances: the ones carried on by a helper
	// first, then those that started, each group in start order.
	Started []Instance
}

// Empty reports whether the report changed no instance (an inventory is
// never empty: it is the news that nothing runs).
func (d AppDelta) Empty() bool { return !d.Inventory && len(d.Started) == 0 && len(d.Stopped) == 0 }

// LauncherWait is how long a process that only its name ties to an app
// (its executable is not one of the app's: a shell running the app's
// start script, env, a symlink to a wrapper) is held before it is judged,
// counted from its start. A launcher execs the app within that time: the
// same process, now the app's executable, is then the instance, judged
// once, with no stop and start for one PID and no warning about the
// shell. One that lives on is judged as what it is (a renamed process).
const LauncherWait = 500 * time.Millisecond

// held is a process that may be a launcher, not judged yet.
type held struct {
	proc procwatch.Process
	app  *policies.App
}

// helper is a process of an app that is not its instance (a renderer, a
// meeting host), with the instance it belongs to.
type helper struct {
	owner procwatch.Key
	proc  procwatch.Process
}

// Apps are the app instances that run and their helpers. The zero value is
// not usable; call NewApps.
type Apps struct {
	matcher     *policies.Matcher
	running     map[procwatch.Key]*Instance
	helpers     map[int32]helper
	held        map[procwatch.Key]held
	inventoried bool
	// skew is how far the clock process start times are read in is ahead
	// of the wall clock (procwatch.Changes.Now minus the wall clock's now,
	// from the latest report that said): ages are taken on that clock.
	skew time.Duration
}

// age is how long p has run at now (wall clock), on its start's clock.
func (s *Apps) age(p procwatch.Process, now time.Time) time.Duration {
	return now.Add(s.skew).Sub(p.Started)
}

// NewApps returns an empty state that recognises apps with m.
func NewApps(m *policies.Matcher) *Apps {
	return &Apps{matcher: m, running: map[procwatch.Key]*Instance{}, helpers: map[int32]helper{}, held: map[procwatch.Key]held{}}
}

// SetCatalog makes the state recognise apps with m from now on (a new
// catalog version), and points each running instance at its app's entry
// in cat, so that it is judged by the new entry; an app cat lacks keeps
// the entry it had.
func (s *Apps) SetCatalog(m *policies.Matcher, cat *policies.Catalog) {
	s.matcher = m
	for _, inst := range s.running {
		if app, ok := cat.App(inst.App.ID); ok {
			inst.App = app
		}
	}
}

// Inventoried reports whether the first report was applied.
func (s *Apps) Inventoried() bool { return s.inventoried }

// Len is the number of instances.
func (s *Apps) Len() int { return len(s.running) }

// Instance returns the instance with key k.
func (s *Apps) Instance(k procwatch.Key) (Instance, bool) {
	if inst, ok := s.running[k]; ok {
		return *inst, true
	}
	return Instance{}, false
}

// Instances returns every instance, by key.
func (s *Apps) Instances() []Instance {
	out := make([]Instance, 0, len(s.running))
	for _, k := range slices.SortedFunc(maps.Keys(s.running), procwatch.CompareKeys) {
		out = append(out, *s.running[k])
	}
	return out
}

// HelperOf returns the instance a helper process belongs to.
func (s *Apps) HelperOf(pid int32) (procwatch.Key, bool) {
	h, ok := s.helpers[pid]
	return h.owner, ok
}

// Helpers is the number of helper processes.
func (s *Apps) Helpers() int { return len(s.helpers) }

// SetIdentity records what was established about an instance's
// executable; it reports false when no such instance runs (it stopped
// meanwhile).
func (s *Apps) SetIdentity(k procwatch.Key, id Identity) bool {
	inst, ok := s.running[k]
	if ok {
		inst.Identity = id
	}
	return ok
}

// MeetingRunning reports whether an instance of a meeting app (not a
// browser) runs.
func (s *Apps) MeetingRunning() bool {
	for _, inst := range s.running {
		if inst.App.Category == policies.CategoryMeeting {
			return true
		}
	}
	return false
}

// Attribute returns the instance a process belongs to, given its ancestry:
// the process's PID, its parent's, and so on up. The process belongs to
// the first of them that is an instance or one of its helpers (a browser's
// camera runs in a utility process its renderer started).
func (s *Apps) Attribute(ancestry []int32) (Instance, bool) {
	for _, pid := range ancestry {
		if pid <= 1 {
			break
		}
		if h, ok := s.helpers[pid]; ok {
			if inst, ok := s.running[h.owner]; ok {
				return *inst, true
			}
		}
		if inst, ok := s.byPID(pid); ok {
			return *inst, true
		}
	}
	return Instance{}, false
}

func (s *Apps) byPID(pid int32) (*Instance, bool) {
	for k, inst := range s.running {
		if k.PID == pid {
			return inst, true
		}
	}
	return nil, false
}

// match returns the catalog app a process belongs to.
func (s *Apps) match(p procwatch.Process) (*policies.App, bool) {
	return s.matcher.MatchProcess(p.Name, p.ShortName, p.Exe != "")
}

// owner returns the instance a process with parent ppid of app belongs to,
// if its parent is that app's instance or one of its helpers.
func (s *Apps) owner(ppid int32, app *policies.App) (procwatch.Key, bool) {
	if h, ok := s.helpers[ppid]; ok {
		if inst, ok := s.running[h.owner]; ok && inst.App.ID == app.ID {
			return h.owner, true
		}
	}
	if inst, ok := s.byPID(ppid); ok && inst.App.ID == app.ID {
		return inst.Key(), true
	}
	return procwatch.Key{}, false
}

// byStart orders processes by start time, then PID: parents start before
// their children, so a helper's parent is known when the helper is looked
// at.
func byStart(x, y procwatch.Process) int {
	return cmp.Or(x.Started.Compare(y.Started), cmp.Compare(x.PID, y.PID))
}

// Apply takes a process report, received at now, and returns what it
// changed. The first report is the inventory. Later ones stop the
// instances that exited (a helper's exit stops nothing, nor does a held
// launcher's), carry an app on with the oldest helper that outlived its
// instance, and start an instance for every new process of an app whose
// parent is not that app, except a possible launcher younger than
// LauncherWait, which is held (see Due).
func (s *Apps) Apply(ch procwatch.Changes, now time.Time) AppDelta {
	if !ch.Now.IsZero() {
		s.skew = ch.Now.Sub(now)
	}
	started := slices.Clone(ch.Started)
	slices.SortStableFunc(started, byStart)
	if !s.inventoried {
		// Nothing is known to run before the inventory: everything
		// reported has started, and the inventory is all of it.
		s.inventoried = true
		d := AppDelta{Inventory: true}
		for _, p := range started {
			if inst, ok := s.add(p, now); ok {
				d.Started = append(d.Started, inst)
			}
		}
		return d
	}
	var d AppDelta
	var orphans []procwatch.Process
	exited := make(map[procwatch.Key]bool, len(ch.Exited))
	for _, p := range ch.Exited {
		exited[p.Key()] = true
		if h, ok := s.held[p.Key()]; ok && proctable.SameExe(h.proc.Exe, p.Exe) {
			// A launcher that exec'd (it comes back as started, the same
			// key) or exited: never judged, nothing to report.
			delete(s.held, p.Key())
			continue
		}
		if inst, ok := s.running[p.Key()]; ok {
			d.Stopped = append(d.Stopped, *inst)
			delete(s.running, p.Key())
			for pid, h := range s.helpers {
				if h.owner == p.Key() {
					orphans = append(orphans, h.proc)
					delete(s.helpers, pid)
				}
			}
		} else if h, ok := s.helpers[p.PID]; ok && h.owner.PID != p.PID {
			delete(s.helpers, p.PID)
		}
	}
	// Helpers that outlive their app's first process (a launcher that
	// exits, an app that daemonises) carry the app on: the oldest becomes
	// the instance, the others its helpers.
	orphans = slices.DeleteFunc(orphans, func(p procwatch.Process) bool { return exited[p.Key()] || p.PID == 0 })
	slices.SortFunc(orphans, byStart)
	promoted := map[string]procwatch.Key{}
	for _, p := range orphans {
		app, ok := s.match(p)
		if !ok {
			continue
		}
		if k, ok := promoted[app.ID]; ok {
			s.helpers[p.PID] = helper{owner: k, proc: p}
			continue
		}
		inst := &Instance{Process: p, App: app, CarriedOn: true}
		s.running[p.Key()] = inst
		promoted[app.ID] = p.Key()
		d.Started = append(d.Started, *inst)
	}
	for _, p := range started {
		if _, known := s.running[p.Key()]; known {
			continue
		}
		if _, known := s.helpers[p.PID]; known {
			continue
		}
		if h, known := s.held[p.Key()]; known && proctable.SameExe(h.proc.Exe, p.Exe) {
			continue
		}
		if inst, ok := s.add(p, now); ok {
			d.Started = append(d.Started, inst)
		}
	}
	return d
}

// add records a started process of an app: a helper of the instance its
// parent belongs to, a possible launcher held for now, or a new instance
// (returned).
func (s *Apps) add(p procwatch.Process, now time.Time) (Instance, bool) {
	app, ok := s.match(p)
	if !ok {
		return Instance{}, false
	}
	if k, ok := s.owner(p.PPID, app); ok {
		s.helpers[p.PID] = helper{owner: k, proc: p}
		return Instance{}, false
	}
	if s.mayLaunch(p, app) && s.age(p, now) < LauncherWait {
		s.held[p.Key()] = held{proc: p, app: app}
		return Instance{}, false
	}
	inst := &Instance{Process: p, App: app}
	s.running[p.Key()] = inst
	return *inst, true
}

// mayLaunch reports whether p of app may be the app's launcher: only its
// name says it is the app, while its executable, which the OS could read,
// is no executable of the app's.
func (s *Apps) mayLaunch(p procwatch.Process, app *policies.App) bool {
	if p.Exe == "" {
		return false
	}
	byExe, ok := s.matcher.Match(p.Name)
	return !ok || byExe.ID != app.ID
}

// Held is the number of possible launchers waiting to be judged.
func (s *Apps) Held() int { return len(s.held) }

// NextDue returns when the first held process is due (Due), and false
// when none is held.
func (s *Apps) NextDue() (time.Time, bool) {
	var first time.Time
	for _, h := range s.held {
		if due := h.proc.Started.Add(LauncherWait - s.skew); first.IsZero() || due.Before(first) {
			first = due
		}
	}
	return first, !first.IsZero()
}

// Due judges the held processes that have lived LauncherWait by now. One
// whose child of the same app runs as an instance launched it without
// exec (a wrapper script that waits for the app): it is the launcher,
// not an app, and is dropped. The others start as instances, returned.
func (s *Apps) Due(now time.Time) AppDelta {
	var d AppDelta
	keys := slices.SortedFunc(maps.Keys(s.held), procwatch.CompareKeys)
	for _, k := range keys {
		h := s.held[k]
		if s.age(h.proc, now) < LauncherWait {
			continue
		}
		delete(s.held, k)
		if s.launched(h) {
			continue
		}
		if k, ok := s.owner(h.proc.PPID, h.app); ok {
			s.helpers[h.proc.PID] = helper{owner: k, proc: h.proc}
			continue
		}
		inst := &Instance{Process: h.proc, App: h.app}
		s.running[k] = inst
		d.Started = append(d.Started, *inst)
	}
	return d
}

// launched reports whether a child of the held process runs as an
// instance of the same app.
func (s *Apps) launched(h held) bool {
	for _, inst := range s.running {
		if inst.Process.PPID == h.proc.PID && inst.App.ID == h.app.ID {
			return true
		}
	}
	return false
}
