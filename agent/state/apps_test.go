package state

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/policies"
)

var base = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// late is a report's time long after every process started: none is held
// as a possible launcher.
var late = base.Add(time.Hour)

func proc(pid int32, name string, startedSec int) procwatch.Process {
	return procwatch.Process{
		PID: pid, PPID: 1, Name: name, ShortName: procwatch.TruncateComm(name),
		Started: base.Add(time.Duration(startedSec) * time.Second), Exe: "/opt/" + name + "/" + name,
	}
}

func child(parent procwatch.Process, pid int32, name string, startedSec int) procwatch.Process {
	p := proc(pid, name, startedSec)
	p.PPID = parent.PID
	return p
}

func matcher(t *testing.T) *policies.Matcher {
	t.Helper()
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return cat.Matcher("linux")
}

// describe renders a delta as "inventory", "stop zoom/100", "start
// zoom/110 (carried on)".
func describe(d AppDelta) []string {
	var out []string
	if d.Inventory {
		out = append(out, "inventory")
	}
	for _, i := range d.Stopped {
		out = append(out, fmt.Sprintf("stop %s/%d", i.App.ID, i.Process.PID))
	}
	for _, i := range d.Started {
		s := fmt.Sprintf("start %s/%d", i.App.ID, i.Process.PID)
		if i.CarriedOn {
			s += " (carried on)"
		}
		out = append(out, s)
	}
	return out
}

func TestAppsApply(t *testing.T) {
	t.Parallel()
	zoom := proc(100, "zoom", 10)
	host := child(zoom, 120, "ZoomWebviewHost", 13)
	zoomMain := child(zoom, 110, "zoom", 12)
	chrome := proc(200, "chrome", 20)
	renderer := child(chrome, 210, "chrome", 21)
	renderer2 := child(renderer, 220, "chrome", 22)
	slack := proc(300, "slack", 30)
	fromSlack := child(slack, 310, "chrome", 31) // a link opened from Slack: its own instance
	bash := proc(400, "bash", 1)
	jitsi2 := proc(100, "jitsi-meet", 90) // PID 100 reused by a later process
	type step struct {
		ch      procwatch.Changes
		want    []string
		helpers int
		running []string
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"empty inventory", []step{
			{procwatch.Changes{Full: true}, []string{"inventory"}, 0, nil},
			{procwatch.Changes{}, nil, 0, nil},
		}},
		{"inventory folds helpers, in start order, skips others", []step{
			{procwatch.Changes{Full: true, Started: []procwatch.Process{renderer2, bash, chrome, host, renderer, zoom}},
				[]string{"inventory", "start zoom/100", "start chrome/200"}, 3, []string{"zoom/100", "chrome/200"}},
		}},
		{"starts and stops; a helper's exit stops nothing", []step{
			{procwatch.Changes{Full: true, Started: []procwatch.Process{zoom, host}}, []string{"inventory", "start zoom/100"}, 1, nil},
			{procwatch.Changes{Started: []procwatch.Process{slack, fromSlack}}, []string{"start slack/300", "start chrome/310"}, 1, nil},
			{procwatch.Changes{Exited: []procwatch.Process{host}}, nil, 0, []string{"zoom/100", "slack/300", "chrome/310"}},
			{procwatch.Changes{Exited: []procwatch.Process{zoom, slack}}, []string{"stop zoom/100", "stop slack/300"}, 0, []string{"chrome/310"}},
		}},
		{"a reused PID is a new instance", []step{
			{procwatch.Changes{Full: true, Started: []procwatch.Process{zoom}}, []string{"inventory", "start zoom/100"}, 0, nil},
			{procwatch.Changes{Started: []procwatch.Process{jitsi2}, Exited: []procwatch.Process{zoom}}, []string{"stop zoom/100", "start jitsi-meet/100"}, 0, []string{"jitsi-meet/100"}},
		}},
		{"a helper carries the app on; the other helpers fold under it", []step{
			{procwatch.Changes{Full: true, Started: []procwatch.Process{zoom, zoomMain, host}}, []string{"inventory", "start zoom/100"}, 2, nil},
			{procwatch.Changes{Exited: []procwatch.Process{zoom}}, []string{"stop zoom/100", "start zoom/110 (carried on)"}, 1, []string{"zoom/110"}},
			{procwatch.Changes{Exited: []procwatch.Process{zoomMain, host}}, []string{"stop zoom/110"}, 0, nil},
		}},
		{"an instance and its helper exiting together leave nothing", []step{
			{procwatch.Changes{Full: true, Started: []procwatch.Process{zoom, host}}, []string{"inventory", "start zoom/100"}, 1, nil},
			{procwatch.Changes{Exited: []procwatch.Process{host, zoom}}, []string{"stop zoom/100"}, 0, nil},
		}},
		{"a full rescan repeats what is known: nothing new", []step{
			{procwatch.Changes{Full: true, Started: []procwatch.Process{zoom, host}}, []string{"inventory", "start zoom/100"}, 1, nil},
			{procwatch.Changes{Full: true, Started: []procwatch.Process{zoom, host, chrome}}, []string{"start chrome/200"}, 1, nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewApps(matcher(t))
			for i, st := range tc.steps {
				d := s.Apply(st.ch, late)
				if got := describe(d); !slices.Equal(got, st.want) {
					t.Errorf("step %d: delta %q, want %q", i, got, st.want)
				}
				if d.Empty() != (len(st.want) == 0) {
					t.Errorf("step %d: Empty() = %v for %q", i, d.Empty(), st.want)
				}
				if s.Helpers() != st.helpers {
					t.Errorf("step %d: %d helpers, want %d", i, s.Helpers(), st.helpers)
				}
				if st.running != nil || len(st.want) == 0 {
					var got []string
					for _, inst := range s.Instances() {
						got = append(got, fmt.Sprintf("%s/%d", inst.App.ID, inst.Process.PID))
					}
					want := st.running
					slices.Sort(got)
					want = slices.Sorted(slices.Values(want))
					if st.running != nil && !slices.Equal(got, want) {
						t.Errorf("step %d: running %q, want %q", i, got, want)
					}
				}
			}
		})
	}
}

func TestAppsHelperOwner(t *testing.T) {
	t.Parallel()
	s := NewApps(matcher(t))
	launcher := proc(100, "zoom", 1)
	main := child(launcher, 110, "zoom", 2)
	host := child(launcher, 120, "ZoomWebviewHost", 3)
	s.Apply(procwatch.Changes{Full: true, Started: []procwatch.Process{launcher, main, host}}, late)
	if k, ok := s.HelperOf(120); !ok || k != launcher.Key() {
		t.Errorf("helper 120 belongs to %v %v, want %v", k, ok, launcher.Key())
	}
	s.Apply(procwatch.Changes{Exited: []procwatch.Process{launcher}}, late)
	if k, ok := s.HelperOf(120); !ok || k != main.Key() {
		t.Errorf("after the launcher exited helper 120 belongs to %v %v, want the new instance %v", k, ok, main.Key())
	}
}

func TestAppsIdentityAndMeeting(t *testing.T) {
	t.Parallel()
	s := NewApps(matcher(t))
	chrome, zoom := proc(200, "chrome", 1), proc(100, "zoom", 2)
	s.Apply(procwatch.Changes{Full: true, Started: []procwatch.Process{chrome}}, late)
	if s.MeetingRunning() {
		t.Error("a browser alone is a meeting app running")
	}
	s.Apply(procwatch.Changes{Started: []procwatch.Process{zoom}}, late)
	if !s.MeetingRunning() {
		t.Error("zoom runs, but no meeting app")
	}
	id := Identity{Version: "6.1", Verified: true, Detail: "deb package zoom"}
	if !s.SetIdentity(zoom.Key(), id) {
		t.Fatal("SetIdentity of a running instance failed")
	}
	if inst, _ := s.Instance(zoom.Key()); inst.Identity != id {
		t.Errorf("identity %+v, want %+v", inst.Identity, id)
	}
	if s.SetIdentity(proc(999, "zoom", 3).Key(), id) {
		t.Error("SetIdentity of no instance succeeded")
	}
}

func TestAttribute(t *testing.T) {
	t.Parallel()
	s := NewApps(matcher(t))
	zoom := proc(100, "zoom", 1)
	chrome := proc(200, "chrome", 2)
	renderer := child(chrome, 210, "chrome", 3)
	s.Apply(procwatch.Changes{Full: true, Started: []procwatch.Process{zoom, chrome, renderer}}, late)
	for _, tc := range []struct {
		ancestry []int32
		want     string
	}{
		{[]int32{100, 1}, "zoom/100"},
		{[]int32{240, 230, 210, 200, 1}, "chrome/200"}, // a renderer's utility process
		{[]int32{210, 200, 1}, "chrome/200"},
		{[]int32{900, 1}, ""},
		{[]int32{12345}, ""},
		{nil, ""},
		{[]int32{1, 100}, ""}, // init is nobody's
	} {
		got := ""
		if inst, ok := s.Attribute(tc.ancestry); ok {
			got = fmt.Sprintf("%s/%d", inst.App.ID, inst.Process.PID)
		}
		if got != tc.want {
			t.Errorf("Attribute(%v) = %q, want %q", tc.ancestry, got, tc.want)
		}
	}
	if inst, _ := s.Attribute([]int32{210}); inst.App.Category != policies.CategoryBrowser {
		t.Errorf("chrome's category %q", inst.App.Category)
	}
}
