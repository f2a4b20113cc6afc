package dashboard

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/store"
)

// events turns agent events into the page's events, newest first (as the
// service reads them).
func events(t *testing.T, evs ...*vcguardv1.Event) []apitypes.Event {
	t.Helper()
	out := make([]apitypes.Event, len(evs))
	for i, e := range evs {
		out[len(evs)-1-i] = admin.EventView(store.StoredEvent{Type: vcguardv1.EventType(e), DeviceID: "d", Seq: e.GetSeq(), Time: e.GetTime().AsTime(), Event: e})
	}
	return out
}

func TestGroupTimeline(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	ts := func(s int) *timestamppb.Timestamp { return timestamppb.New(t0.Add(time.Duration(s) * time.Second)) }
	inst := func(app string, pid int32, v vcguardv1.Verdict) *vcguardv1.AppInstance {
		return &vcguardv1.AppInstance{AppId: app, Pid: pid, Exe: "/opt/" + app, Verdict: v, Started: ts(0)}
	}
	app := func(seq int, kind vcguardv1.AppEvent_Kind, a *vcguardv1.AppInstance) *vcguardv1.Event {
		return &vcguardv1.Event{Seq: uint64(seq), Time: ts(seq), Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: kind, App: a}}}
	}
	told := func(seq int, appID string) *vcguardv1.Event {
		return &vcguardv1.Event{Seq: uint64(seq), Time: ts(seq), Detail: &vcguardv1.Event_UserNotified{UserNotified: &vcguardv1.UserNotified{
			AppId: appID, Verdict: vcguardv1.Verdict_VERDICT_OUTDATED, PolicyAction: vcguardv1.Action_ACTION_WARN}}}
	}
	media := func(seq int, on bool) *vcguardv1.Event {
		return &vcguardv1.Event{Seq: uint64(seq), Time: ts(seq), Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{On: on,
			Use: &vcguardv1.MediaUse{Kind: "microphone", Device: "hw:0", Pid: 7}}}}
	}
	up, down := vcguardv1.AppEvent_KIND_STARTED, vcguardv1.AppEvent_KIND_STOPPED
	old := inst("zoom", 10, vcguardv1.Verdict_VERDICT_OUTDATED)
	rows := groupTimeline(events(t,
		app(1, down, inst("teams", 5, vcguardv1.Verdict_VERDICT_APPROVED)), // a stop whose start is older than the events read
		app(2, up, old),
		told(3, "zoom"),
		media(4, true),
		app(5, down, old),
		app(6, up, old),  // the same pid started again: a new launch
		told(7, "webex"), // a notice about no launch among the events
		media(8, false),
	), func(id string) string { return id })
	var got []string
	for _, r := range rows {
		end := "-"
		if !r.End.IsZero() {
			end = r.End.Sub(t0).String()
		}
		got = append(got, strings.Join([]string{r.Kind, r.AppID, r.Start.Sub(t0).String(), end, r.Summary(), r.Verdict, r.Action, strings.Join(r.Told, "|")}, " "))
	}
	want := []string{
		"apps webex 7s - user told outdated warned outdated, warn: not displayed",
		"apps zoom 6s - started outdated  ",
		"media  4s 8s microphone on → microphone off   ",
		"apps zoom 2s 5s started → user told → stopped outdated warned outdated, warn: not displayed",
		"apps teams 1s 1s stopped approved  ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !rows[1].Open || rows[3].Open || !rows[1].Flagged {
		t.Errorf("open/flagged: %+v", rows[1])
	}
	if n := len(filterTimeline(rows, "media")); n != 1 {
		t.Errorf("media rows: %d", n)
	}
}

// FuzzGroupTimeline feeds event sequences a device could send (any order,
// any pids and apps, stops without starts, offs without ons): grouping
// never fails, every event lands in exactly one row, and rows are newest
// first.
func FuzzGroupTimeline(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{1, 1, 0, 0, 3, 3, 4, 4, 5, 5})
	f.Add([]byte{7, 6, 5, 4, 3, 2, 1, 0, 255, 128})
	t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 400 {
			b = b[:400]
		}
		var evs []*vcguardv1.Event
		for i, c := range b {
			ts := timestamppb.New(t0.Add(time.Duration(i) * time.Second))
			appID := []string{"zoom", "teams", ""}[int(c>>3)%3]
			pid := int32(c>>5) % 3
			inst := &vcguardv1.AppInstance{AppId: appID, Pid: pid, Verdict: vcguardv1.Verdict(c>>4) % 7}
			e := &vcguardv1.Event{Seq: uint64(i + 1), Time: ts}
			switch c % 8 {
			case 0:
				e.Detail = &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_STARTED, App: inst}}
			case 1:
				e.Detail = &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_STOPPED, App: inst}}
			case 2:
				e.Detail = &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_VERDICT_CHANGED, App: inst}}
			case 3:
				e.Detail = &vcguardv1.Event_UserNotified{UserNotified: &vcguardv1.UserNotified{AppId: appID, Sessions: uint32(c) % 3}}
			case 4:
				e.Detail = &vcguardv1.Event_Enforcement{Enforcement: &vcguardv1.Enforcement{App: inst, Killed: []int32{pid}}}
			case 5, 6:
				e.Detail = &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{On: c%8 == 5, Use: &vcguardv1.MediaUse{Kind: "camera", Pid: pid, AppId: appID}}}
			default:
				e.Detail = &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: uint64(c)}}
			}
			evs = append(evs, e)
		}
		rows := groupTimeline(events(t, evs...), func(id string) string { return id })
		n := 0
		for i, r := range rows {
			n += len(r.Events)
			if len(r.Events) == 0 || !slices.Contains(timelineKinds, r.Kind) {
				t.Fatalf("row %d: %+v", i, r)
			}
			if i > 0 && r.Start.After(rows[i-1].Start) {
				t.Fatalf("row %d starts after the row before it", i)
			}
			if !r.End.IsZero() && r.End.Before(r.Start) {
				t.Fatalf("row %d ends before it starts: %+v", i, r)
			}
		}
		if n != len(evs) {
			t.Fatalf("%d events in the rows, %d given", n, len(evs))
		}
	})
}
