package outbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// dropFile records what the bound dropped, one JSON line each, appended
// and fsynced like the log:
//
//	{"summary":{"total":{…},"unreported":{…},"next":N}}   first line, after a compaction
//	{"seq":N,"type":"app_stopped","time":"…"}             event N was dropped
//	{"reported":true}                                     the server was sent the counts so far
//
// A line cut short by a crash ends the file (it is cut off at Open). The
// marks of dropped events name records still in the log (a drop from the
// middle of the spool cannot be written as an acknowledgement); the
// compaction that removes those records rewrites the file as one summary.
const dropFile = "dropped"

// maxDropLine bounds one line of dropFile; a longer one is corruption.
const maxDropLine = 64 << 10

// DropCount is how many events of one type the outbox dropped, and when
// (by the agent's clock) the oldest and the newest of them happened.
type DropCount struct {
	// Type names the event as the server does: app_started, app_stopped,
	// camera_off, inventory, … (see Type).
	Type   string    `json:"type"`
	Count  uint64    `json:"count"`
	Oldest time.Time `json:"oldest,omitzero"`
	Newest time.Time `json:"newest,omitzero"`
}

// dropCounts are drop counts by event type.
type dropCounts map[string]DropCount

func (c dropCounts) add(typ string, n uint64, oldest, newest time.Time) dropCounts {
	if c == nil {
		c = dropCounts{}
	}
	d := c[typ]
	d.Type = typ
	d.Count += n
	if !oldest.IsZero() && (d.Oldest.IsZero() || oldest.Before(d.Oldest)) {
		d.Oldest = oldest
	}
	if newest.After(d.Newest) {
		d.Newest = newest
	}
	c[typ] = d
	return c
}

func (c dropCounts) merge(other dropCounts) dropCounts {
	for _, d := range other {
		c = c.add(d.Type, d.Count, d.Oldest, d.Newest)
	}
	return c
}

func (c dropCounts) sorted() []DropCount {
	if len(c) == 0 {
		return nil
	}
	out := make([]DropCount, 0, len(c))
	for _, k := range slices.Sorted(maps.Keys(c)) {
		out = append(out, c[k])
	}
	return out
}

// dropState is what the outbox knows about its drops.
type dropState struct {
	// Total are all drops ever; Unreported those not yet sent in an
	// EventsDropped event.
	Total      dropCounts `json:"total,omitempty"`
	Unreported dropCounts `json:"unreported,omitempty"`
	// Next is at least the next sequence number to assign: a dropped event
	// at the end of the log leaves no record to number after.
	Next uint64 `json:"next,omitempty"`
}

// dropLine is one line of dropFile.
type dropLine struct {
	Summary  *dropState `json:"summary,omitempty"`
	Seq      uint64     `json:"seq,omitempty"`
	Type     string     `json:"type,omitempty"`
	Time     time.Time  `json:"time,omitzero"`
	Reported bool       `json:"reported,omitempty"`
}

// readDrops reads dropFile into o.drops and returns the sequence numbers of
// the dropped records and the offset after the last good line.
func (o *Outbox) readDrops() (dead map[uint64]bool, good int64, err error) {
	f, err := os.Open(filepath.Join(o.dir, dropFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("outbox: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for first := true; ; first = false {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: read the rest.
			rest, rerr := r.ReadBytes('\n')
			line, err = append(slices.Clone(line), rest...), rerr
		}
		if err != nil || len(line) > maxDropLine {
			// The end, or a line cut short.
			return dead, good, nil
		}
		var l dropLine
		if json.Unmarshal(line, &l) != nil || !o.applyDropLine(l, first, dead) {
			return dead, good, nil
		}
		if l.Seq > 0 {
			if dead == nil {
				dead = map[uint64]bool{}
			}
			dead[l.Seq] = true
		}
		good += int64(len(line))
	}
}

// applyDropLine adds one line's news to o.drops; false for a line that
// makes no sense (it ends the file).
func (o *Outbox) applyDropLine(l dropLine, first bool, dead map[uint64]bool) bool {
	switch {
	case l.Summary != nil:
		if !first || l.Summary.Next >= maxSeq {
			return false
		}
		o.drops = dropState{Total: dropCounts{}.merge(l.Summary.Total), Unreported: dropCounts{}.merge(l.Summary.Unreported)}
		o.next = max(o.next, l.Summary.Next)
	case l.Seq > 0:
		if l.Seq >= maxSeq || l.Type == "" || dead[l.Seq] {
			return false
		}
		o.drops.Total = o.drops.Total.add(l.Type, 1, l.Time, l.Time)
		o.drops.Unreported = o.drops.Unreported.add(l.Type, 1, l.Time, l.Time)
		o.next = max(o.next, l.Seq+1)
	case l.Reported:
		o.drops.Unreported = nil
	default:
		return false
	}
	return true
}

// openDrops reads dropFile and opens it for appending after its last good
// line.
func (o *Outbox) openDrops() (map[uint64]bool, error) {
	dead, good, err := o.readDrops()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(o.dir, dropFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return dead, nil // created at the first drop
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("outbox: truncate torn tail of %s: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	o.dropF, o.dropSize = f, good
	return dead, nil
}

func (o *Outbox) closeDrops() {
	if o.dropF != nil {
		o.dropF.Close()
		o.dropF = nil
	}
}

// writeDropLine appends l to dropFile durably; a failed write is cut off
// again so that the next line follows the last good one. Called with mu
// held.
func (o *Outbox) writeDropLine(l dropLine) error {
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if o.dropF == nil {
		f, err := os.OpenFile(filepath.Join(o.dir, dropFile), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		o.dropF, o.dropSize = f, fi.Size()
	}
	_, err = o.dropF.Write(data)
	if err == nil {
		err = o.dropF.Sync()
	}
	if err != nil {
		if terr := o.dropF.Truncate(o.dropSize); terr == nil {
			_, _ = o.dropF.Seek(o.dropSize, io.SeekStart)
		} else {
			// Appends can no longer be trusted to follow a good line:
			// reopen (and find the end) before the next one.
			o.closeDrops()
		}
		return err
	}
	o.dropSize += int64(len(data))
	return nil
}

// compactDrops replaces dropFile with one summary line. Called with mu held
// after the log was compacted.
func (o *Outbox) compactDrops() error {
	if o.dropF == nil && len(o.drops.Total) == 0 {
		return nil
	}
	st := o.drops
	st.Next = o.next
	data, err := json.Marshal(dropLine{Summary: &st})
	if err != nil {
		return err
	}
	data = append(data, '\n')
	o.closeDrops()
	if err := o.writeFile(filepath.Join(o.dir, dropFile), data, 0o600); err != nil {
		return err
	}
	return nil // reopened at the next drop
}

// stateKind names the kinds of events of which only the newest counts.
func stateKind(ev *vcguardv1.Event) string {
	switch ev.GetDetail().(type) {
	case *vcguardv1.Event_Inventory:
		return "inventory"
	case *vcguardv1.Event_PolicyApplied:
		return "policy_applied"
	case *vcguardv1.Event_LocalPolicy:
		return "local_policy"
	case *vcguardv1.Event_BrowserPolicy:
		return "browser_policy"
	}
	return ""
}

// IsFinding reports whether ev is one the outbox keeps over every other
// when it is full: a finding of the policy, what the agent did about one,
// or a report of drops.
func IsFinding(ev *vcguardv1.Event) bool {
	switch d := ev.GetDetail().(type) {
	case *vcguardv1.Event_App:
		if d.App.GetKind() == vcguardv1.AppEvent_KIND_STOPPED {
			return false
		}
		switch d.App.GetApp().GetVerdict() {
		case vcguardv1.Verdict_VERDICT_FORBIDDEN, vcguardv1.Verdict_VERDICT_UNVERIFIED,
			vcguardv1.Verdict_VERDICT_RESTRICTED, vcguardv1.Verdict_VERDICT_OUTDATED:
			return true
		}
	case *vcguardv1.Event_Enforcement, *vcguardv1.Event_UserNotified, *vcguardv1.Event_MediaFinding, *vcguardv1.Event_EventsDropped:
		return true
	case *vcguardv1.Event_AppConnection:
		// A wrong server or a personal account; a setup the policy finds
		// nothing wrong with is routine.
		return len(d.AppConnection.GetFindings()) > 0
	case *vcguardv1.Event_AppPosture:
		// A setting the policy warns of; findings it only monitors (start
		// at login) are routine.
		return slices.ContainsFunc(d.AppPosture.GetFindings(), func(f *vcguardv1.PostureFinding) bool {
			return f.GetPolicyAction() == vcguardv1.Action_ACTION_WARN
		})
	case *vcguardv1.Event_BrowserMeeting:
		k := d.BrowserMeeting.GetKind()
		return k == vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNAPPROVED_SITE || k == vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNKNOWN_SITE
	}
	return false
}

// victim returns the index in o.pending of the event to drop: the oldest
// superseded state report, else the oldest routine event, else the oldest.
// The ranks, lowest (dropped first) to highest:
//   - superseded: a state report (inventory, policy applied, local
//     policies) with a newer one of its kind behind it in the spool;
//   - routine: state changes the server can live without (an app that is
//     allowed starting or stopping, a camera switched on or off);
//   - finding: what the policy is for (a forbidden, unverified, restricted
//     or outdated app, an enforcement, a notice shown, a camera finding),
//     the latest state reports, and the reports of drops (IsFinding).
//
// Linear in the spool, which is only walked when it is full. Called with mu
// held.
func (o *Outbox) victim() int {
	newest := map[string]int{} // state kind → index of its newest report
	for i := len(o.pending) - 1; i >= 0 && len(newest) < 3; i-- {
		if k := stateKind(o.pending[i]); k != "" {
			if _, ok := newest[k]; !ok {
				newest[k] = i
			}
		}
	}
	firstRoutine := -1
	for i, ev := range o.pending {
		if k := stateKind(ev); k != "" {
			if newest[k] != i {
				return i // superseded
			}
			continue
		}
		if firstRoutine < 0 && !IsFinding(ev) {
			firstRoutine = i
		}
	}
	if firstRoutine >= 0 {
		return firstRoutine
	}
	return 0
}

// dropOne drops one pending event to keep the bound, counts it, and marks
// it in dropFile. Called with mu held.
func (o *Outbox) dropOne() {
	i := o.victim()
	ev := o.pending[i]
	o.pending = slices.Delete(o.pending, i, i+1)
	typ, at := Type(ev), ev.GetTime().AsTime()
	if ev.GetTime() == nil {
		at = time.Time{}
	}
	o.drops.Total = o.drops.Total.add(typ, 1, at, at)
	o.drops.Unreported = o.drops.Unreported.add(typ, 1, at, at)
	// A mark that cannot be written (disk full) is lost: after a restart
	// the event is pending again, which errs on the side of sending it.
	_ = o.writeDropLine(dropLine{Seq: ev.GetSeq(), Type: typ, Time: at})
}

// reportDrops appends an EventsDropped event with the counts the server
// has not been sent yet. Called with mu held.
func (o *Outbox) reportDrops() {
	if len(o.drops.Unreported) == 0 || o.closed || o.usable() != nil {
		return
	}
	if o.torn {
		if err := o.rollback(); err != nil {
			return
		}
	}
	if o.next >= maxSeq {
		return
	}
	rep := &vcguardv1.EventsDropped{}
	for _, c := range o.drops.Unreported.sorted() {
		d := &vcguardv1.DroppedEvents{Type: c.Type, Count: c.Count}
		if !c.Oldest.IsZero() {
			d.Oldest = timestamppb.New(c.Oldest)
		}
		if !c.Newest.IsZero() {
			d.Newest = timestamppb.New(c.Newest)
		}
		rep.Dropped = append(rep.Dropped, d)
	}
	ev := &vcguardv1.Event{Seq: o.next, Time: timestamppb.New(o.now()), Detail: &vcguardv1.Event_EventsDropped{EventsDropped: rep}}
	if err := o.write(ev); err != nil {
		return // not stored: reported at the next acknowledgement
	}
	// The report is stored before it is marked: should the mark not be
	// written (a crash, a full disk), the counts are reported again after
	// a restart, at least once. The bound is kept only after the mark, so
	// that what it drops now is counted after it, for the next report.
	o.drops.Unreported = nil
	_ = o.writeDropLine(dropLine{Reported: true})
	o.keepBound()
	o.signal()
}

// Type names an event as the server stores it (vcguardv1.EventType).
func Type(ev *vcguardv1.Event) string { return vcguardv1.EventType(ev) }
