package state

import (
	"slices"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/procwatch"
)

// launcher is a process that only its name ties to an app: a shell
// running the app's start script (comm "chromium", exe dash).
func launcher(pid int32, name, exe string, startedSec int) procwatch.Process {
	p := proc(pid, name, startedSec)
	p.Exe = exe
	p.Name = exe[len("/usr/bin/"):]
	return p
}

// execd is p after it exec'd the app's own executable: same PID and
// start, a new image.
func execd(p procwatch.Process, exe string) procwatch.Process {
	p.Exe = exe
	p.Name = "chromium"
	return p
}

func TestLaunchers(t *testing.T) {
	t.Parallel()
	script := launcher(100, "chromium", "/usr/bin/dash", 10)
	app := execd(script, "/usr/lib/chromium/chromium")
	renamed := launcher(200, "zoom", "/usr/bin/python3", 10) // a python calling itself zoom, for good
	wrapper := launcher(300, "chromium", "/usr/bin/bash", 10)
	wrapped := child(wrapper, 310, "chromium", 10)
	wrapped.Exe = "/usr/lib/chromium/chromium"
	at := func(ms int) time.Time { return base.Add(10*time.Second + time.Duration(ms)*time.Millisecond) }
	type step struct {
		ch   *procwatch.Changes // nil: Due at the time
		now  time.Time
		want []string
		held int
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"a start script that execs the app: one start, no judgement of the shell", []step{
			{&procwatch.Changes{Full: true}, at(0), []string{"inventory"}, 0},
			{&procwatch.Changes{Started: []procwatch.Process{script}}, at(2), nil, 1},
			{&procwatch.Changes{Started: []procwatch.Process{app}, Exited: []procwatch.Process{script}}, at(5), []string{"start chromium/100"}, 0},
			{nil, at(600), nil, 0},
			{&procwatch.Changes{Exited: []procwatch.Process{app}}, at(900), []string{"stop chromium/100"}, 0},
		}},
		{"the exec in a later report than the launcher's", []step{
			{&procwatch.Changes{Full: true}, at(0), []string{"inventory"}, 0},
			{&procwatch.Changes{Started: []procwatch.Process{script}}, at(1), nil, 1},
			{&procwatch.Changes{Exited: []procwatch.Process{script}}, at(3), nil, 0},
			{&procwatch.Changes{Started: []procwatch.Process{app}}, at(3), []string{"start chromium/100"}, 0},
		}},
		{"a launcher that exits without exec: nothing at all", []step{
			{&procwatch.Changes{Full: true}, at(0), []string{"inventory"}, 0},
			{&procwatch.Changes{Started: []procwatch.Process{script}}, at(1), nil, 1},
			{&procwatch.Changes{Exited: []procwatch.Process{script}}, at(50), nil, 0},
			{nil, at(600), nil, 0},
		}},
		{"a renamed process that lives on is judged once it is due", []step{
			{&procwatch.Changes{Full: true}, at(0), []string{"inventory"}, 0},
			{&procwatch.Changes{Started: []procwatch.Process{renamed}}, at(1), nil, 1},
			{nil, at(499), nil, 1},
			{nil, at(500), []string{"start zoom/200"}, 0},
			{&procwatch.Changes{Exited: []procwatch.Process{renamed}}, at(900), []string{"stop zoom/200"}, 0},
		}},
		{"a wrapper that waits for the app it started is no app", []step{
			{&procwatch.Changes{Full: true}, at(0), []string{"inventory"}, 0},
			{&procwatch.Changes{Started: []procwatch.Process{wrapper, wrapped}}, at(3), []string{"start chromium/310"}, 1},
			{nil, at(700), nil, 0},
			{&procwatch.Changes{Exited: []procwatch.Process{wrapper, wrapped}}, at(900), []string{"stop chromium/310"}, 0},
		}},
		{"found running at start: judged at once, as what it is", []step{
			{&procwatch.Changes{Full: true, Started: []procwatch.Process{renamed}}, at(600), []string{"inventory", "start zoom/200"}, 0},
		}},
		{"an executable of the app is never held", []step{
			{&procwatch.Changes{Full: true}, at(0), []string{"inventory"}, 0},
			{&procwatch.Changes{Started: []procwatch.Process{app}}, at(1), []string{"start chromium/100"}, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := NewApps(matcher(t))
			for i, st := range tc.steps {
				var d AppDelta
				if st.ch != nil {
					d = s.Apply(*st.ch, st.now)
				} else {
					d = s.Due(st.now)
				}
				if got := describe(d); !slices.Equal(got, st.want) {
					t.Errorf("step %d: delta %q, want %q", i, got, st.want)
				}
				if s.Held() != st.held {
					t.Errorf("step %d: %d held, want %d", i, s.Held(), st.held)
				}
				if next, ok := s.NextDue(); ok != (st.held > 0) || (ok && !next.Equal(at(500))) {
					t.Errorf("step %d: NextDue = %v, %v; want %v while held", i, next, ok, at(500))
				}
			}
		})
	}
}

// Start times are read on the process clock (btime plus time since boot),
// which may run seconds apart from the wall clock (btime's rounding, an
// NTP step since boot). A launcher 2 ms old on the process clock is held
// though by the wall clock it looks 1.5 s old, and is due 500 ms after
// its start on that clock.
func TestLauncherAgeOnTheProcessClock(t *testing.T) {
	t.Parallel()
	script := launcher(100, "chromium", "/usr/bin/dash", 10)
	s := NewApps(matcher(t))
	wall := script.Started.Add(1500 * time.Millisecond) // the wall clock is 1.5 s ahead
	s.Apply(procwatch.Changes{Full: true, Now: script.Started}, wall)
	if d := s.Apply(procwatch.Changes{Started: []procwatch.Process{script}, Now: script.Started.Add(2 * time.Millisecond)}, wall.Add(2*time.Millisecond)); len(d.Started) != 0 || s.Held() != 1 {
		t.Fatalf("started %v, held %d; want the launcher held", d.Started, s.Held())
	}
	due, ok := s.NextDue()
	if want := wall.Add(LauncherWait); !ok || !due.Equal(want) {
		t.Errorf("due at %v, want %v (500 ms after its start, on the wall clock)", due, want)
	}
	if d := s.Due(due.Add(-time.Millisecond)); len(d.Started) != 0 {
		t.Errorf("judged before it was due: %v", d.Started)
	}
	if d := s.Due(due); len(d.Started) != 1 {
		t.Errorf("not judged when due: %v", d.Started)
	}
}
