package outbox_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/outbox"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// mixed builds the i-th event of a long offline stretch: mostly routine
// (allowed apps starting and stopping, the camera on and off), every
// seventh a finding (a forbidden app), every eleventh an inventory and
// every thirteenth a policy applied, each a minute after the previous.
func mixed(i int) *vcguardv1.Event {
	at := timestamppb.New(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute))
	app := &vcguardv1.AppInstance{AppId: "zoom", Pid: int32(1000 + i), Verdict: vcguardv1.Verdict_VERDICT_APPROVED}
	switch {
	case i%7 == 3:
		app.Verdict = vcguardv1.Verdict_VERDICT_FORBIDDEN
		return &vcguardv1.Event{Time: at, Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_STARTED, App: app}}}
	case i%11 == 5:
		return &vcguardv1.Event{Time: at, Detail: &vcguardv1.Event_Inventory{Inventory: &vcguardv1.Inventory{Apps: []*vcguardv1.AppInstance{app}}}}
	case i%13 == 6:
		return &vcguardv1.Event{Time: at, Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: uint64(i)}}}
	case i%4 == 0:
		return &vcguardv1.Event{Time: at, Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{Use: &vcguardv1.MediaUse{Kind: "camera", Pid: app.Pid}, On: i%8 == 0}}}
	case i%2 == 0:
		return &vcguardv1.Event{Time: at, Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_STOPPED, App: app}}}
	}
	return &vcguardv1.Event{Time: at, Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_STARTED, App: app}}}
}

func countTypes(evs []*vcguardv1.Event) map[string]uint64 {
	m := map[string]uint64{}
	for _, ev := range evs {
		m[outbox.Type(ev)]++
	}
	return m
}

// TestBoundKeepsFindings fills the outbox far past its bound, as days
// offline do: every finding, the newest inventory and the newest policy
// applied survive, the oldest routine events go first, and the drops are
// counted by type with their oldest and newest time, the same after a
// restart, and reported in one EventsDropped event at the next
// acknowledgement (and not again after another restart).
func TestBoundKeepsFindings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const bound, total = 100, 500
	o := open(t, dir, bound)
	var appended []*vcguardv1.Event
	for i := range total {
		ev := mixed(i)
		if err := o.Append(ev); err != nil {
			t.Fatal(err)
		}
		appended = append(appended, ev)
	}
	check := func(o *outbox.Outbox, when string) {
		t.Helper()
		pending := all(o)
		if len(pending) != bound {
			t.Fatalf("%s: %d pending, want the bound %d", when, len(pending), bound)
		}
		kept := map[uint64]bool{}
		for _, ev := range pending {
			kept[ev.GetSeq()] = true
		}
		var findings, lastInventory, lastPolicy uint64
		for _, ev := range appended {
			switch {
			case outbox.IsFinding(ev):
				findings++
				if !kept[ev.GetSeq()] {
					t.Errorf("%s: finding %d (%s) was dropped", when, ev.GetSeq(), outbox.Type(ev))
				}
			case ev.GetInventory() != nil:
				lastInventory = ev.GetSeq()
			case ev.GetPolicyApplied() != nil:
				lastPolicy = ev.GetSeq()
			}
		}
		if !kept[lastInventory] || !kept[lastPolicy] {
			t.Errorf("%s: newest inventory (%d) or policy applied (%d) dropped", when, lastInventory, lastPolicy)
		}
		// What was kept besides is the newest routine events: every
		// dropped one is older than every kept one.
		routine := func(ev *vcguardv1.Event) bool {
			return !outbox.IsFinding(ev) && ev.GetInventory() == nil && ev.GetPolicyApplied() == nil
		}
		var newestDropped, oldestKept uint64 = 0, total + 1
		for _, ev := range appended {
			switch {
			case (ev.GetInventory() != nil && ev.GetSeq() != lastInventory) || (ev.GetPolicyApplied() != nil && ev.GetSeq() != lastPolicy):
				if kept[ev.GetSeq()] {
					t.Errorf("%s: superseded %s %d kept", when, outbox.Type(ev), ev.GetSeq())
				}
			case routine(ev) && kept[ev.GetSeq()]:
				oldestKept = min(oldestKept, ev.GetSeq())
			case routine(ev):
				newestDropped = max(newestDropped, ev.GetSeq())
			}
		}
		if newestDropped > oldestKept {
			t.Errorf("%s: routine event %d dropped while the older %d was kept", when, newestDropped, oldestKept)
		}
		// The counts are what was appended minus what is pending, by type.
		want := countTypes(appended)
		for typ, n := range countTypes(pending) {
			want[typ] -= n
			if want[typ] == 0 {
				delete(want, typ)
			}
		}
		st := o.Stats()
		got := map[string]uint64{}
		for _, d := range st.Drops {
			got[d.Type] = d.Count
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s: drops by type %v, want %v", when, got, want)
		}
		if st.Dropped != total-bound {
			t.Errorf("%s: %d dropped, want %d", when, st.Dropped, total-bound)
		}
		// Routine app_stopped events: the oldest dropped is the first
		// appended, the newest is older than every one kept.
		for _, d := range st.Drops {
			if d.Type != "app_stopped" {
				continue
			}
			var first, lastDropped time.Time
			for _, ev := range appended {
				if outbox.Type(ev) == "app_stopped" {
					if first.IsZero() {
						first = ev.GetTime().AsTime()
					}
					if !kept[ev.GetSeq()] {
						lastDropped = ev.GetTime().AsTime()
					}
				}
			}
			if !d.Oldest.Equal(first) || !d.Newest.Equal(lastDropped) {
				t.Errorf("%s: app_stopped dropped from %s to %s, want %s to %s", when, d.Oldest, d.Newest, first, lastDropped)
			}
		}
		if findings < 50 {
			t.Fatalf("only %d findings in the test's events", findings)
		}
	}
	check(o, "offline")
	if st := o.Stats(); st.Unreported != st.Dropped {
		t.Errorf("Unreported = %d before any report, want %d", st.Unreported, st.Dropped)
	}
	o = reopen(t, o, dir, bound)
	check(o, "after a restart")
	before := o.Stats()

	// Connected again: the first acknowledgement (of nothing new) makes the
	// report, a new event after the others.
	if err := o.Ack(0); err != nil {
		t.Fatal(err)
	}
	pending := all(o)
	last := pending[len(pending)-1]
	rep := last.GetEventsDropped()
	if rep == nil || last.GetSeq() != total+1 {
		t.Fatalf("last pending event %d is %s, want the drop report as %d", last.GetSeq(), outbox.Type(last), total+1)
	}
	got := map[string]uint64{}
	for _, d := range rep.GetDropped() {
		got[d.GetType()] = d.GetCount()
	}
	want := map[string]uint64{}
	for _, d := range before.Drops {
		want[d.Type] = d.Count
	}
	if !maps.Equal(got, want) {
		t.Errorf("report counts %v, want %v", got, want)
	}
	if !slices.IsSortedFunc(rep.GetDropped(), func(a, b *vcguardv1.DroppedEvents) int { return cmpString(a.GetType(), b.GetType()) }) {
		t.Errorf("report not sorted by type")
	}
	// Keeping the bound after the report dropped one more (routine) event:
	// counted for the next report.
	st := o.Stats()
	if st.Dropped != before.Dropped+1 || st.Unreported != 1 {
		t.Errorf("after the report: %d dropped, %d unreported; want %d and 1", st.Dropped, st.Unreported, before.Dropped+1)
	}
	// The server acknowledges everything: the one unreported drop is
	// reported in turn, and nothing more after a restart.
	if err := o.Ack(last.GetSeq()); err != nil {
		t.Fatal(err)
	}
	pending = all(o)
	if len(pending) != 1 || pending[0].GetEventsDropped().GetDropped()[0].GetCount() != 1 {
		t.Fatalf("after the acknowledgement pending = %v, want one report of one drop", pending)
	}
	if err := o.Ack(pending[0].GetSeq()); err != nil {
		t.Fatal(err)
	}
	o = reopen(t, o, dir, bound)
	if err := o.Ack(0); err != nil {
		t.Fatal(err)
	}
	if n := len(all(o)); n != 0 {
		t.Errorf("after a restart %d events pending, want none (no second report)", n)
	}
	st = o.Stats()
	if st.Dropped != before.Dropped+1 || st.Unreported != 0 || st.Next != total+3 {
		t.Errorf("after a restart: %+v; want %d dropped, none unreported, next %d", st, before.Dropped+1, total+3)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestBoundDropsFindingsLast: when even the findings exceed the bound (a
// broken or hostile source), the oldest findings go, after every routine
// event, and are counted too.
func TestBoundDropsFindingsLast(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := open(t, dir, 5)
	forbidden := func(pid int32) *vcguardv1.Event {
		return &vcguardv1.Event{Time: timestamppb.Now(), Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{
			Kind: vcguardv1.AppEvent_KIND_STARTED, App: &vcguardv1.AppInstance{AppId: "x", Pid: pid, Verdict: vcguardv1.Verdict_VERDICT_FORBIDDEN}}}}
	}
	appendLabelled(t, o, dir, "routine") // seq 1
	for pid := range int32(8) {          // seq 2..9
		if err := o.Append(forbidden(pid)); err != nil {
			t.Fatal(err)
		}
	}
	wantSeqs(t, o, []uint64{5, 6, 7, 8, 9})
	o = reopen(t, o, dir, 5)
	wantSeqs(t, o, []uint64{5, 6, 7, 8, 9})
	st := o.Stats()
	got := map[string]uint64{}
	for _, d := range st.Drops {
		got[d.Type] = d.Count
	}
	if want := map[string]uint64{"app_started": 4}; !maps.Equal(got, want) || st.Dropped != 4 {
		t.Errorf("drops %v (%d), want %v", got, st.Dropped, want)
	}
}
