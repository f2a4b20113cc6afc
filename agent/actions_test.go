package agent

import (
	"slices"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/notify"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// What became of a notice is recorded as the notifier reported it: the
// sessions that displayed it (0 when none did, with the reasons), the
// language, and whether it was shown again to a notifier that connected
// later; at the time it was handed to the notifiers.
func TestRecordDelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	var seq uint64
	newEvents(t, a, &seq)
	n := notify.Notice{Key: "100/1", AppID: "zoom", Verdict: policies.VerdictForbidden, Action: policies.ActionBlock, PID: 100}
	at := base.Add(time.Minute)
	for _, d := range []notify.Delivery{
		{Notice: n, At: at, Failures: []string{"nobody was told: no notifier is running for the app's user"}},
		{Notice: n, At: at, Failures: []string{`session "2": org.freedesktop.Notifications was not provided`}},
		{Notice: n, At: at, Sessions: 1, Lang: "de", Replayed: true},
	} {
		if err := a.recordDelivery(d); err != nil {
			t.Fatal(err)
		}
	}
	var got []*vcguardv1.UserNotified
	for _, ev := range a.out.Pending(seq, 100) {
		if u := ev.GetUserNotified(); u != nil {
			got = append(got, u)
			if !ev.GetTime().AsTime().Equal(at) {
				t.Errorf("recorded at %v, want %v (when it was handed over)", ev.GetTime().AsTime(), at)
			}
		}
	}
	if len(got) != 3 {
		t.Fatalf("recorded %d user_notified, want 3", len(got))
	}
	for i, u := range got {
		if u.GetAppId() != "zoom" || u.GetVerdict() != vcguardv1.Verdict_VERDICT_FORBIDDEN || u.GetPolicyAction() != vcguardv1.Action_ACTION_BLOCK {
			t.Errorf("event %d: %v; want zoom forbidden block", i, u)
		}
	}
	if u := got[0]; u.GetSessions() != 0 || !slices.Equal(u.GetFailures(), []string{"nobody was told: no notifier is running for the app's user"}) {
		t.Errorf("no notifier: %v", u)
	}
	if u := got[1]; u.GetSessions() != 0 || len(u.GetFailures()) != 1 || u.GetReplayed() {
		t.Errorf("failed display: %v", u)
	}
	if u := got[2]; u.GetSessions() != 1 || u.GetLang() != "de" || len(u.GetFailures()) != 0 || !u.GetReplayed() {
		t.Errorf("replayed: %v", u)
	}
}

// A finding that no longer needs telling (the app approved meanwhile) is
// cleared from the notifier, so that a notifier connecting later is not
// shown the old warning; told again when it comes back.
func TestFindingGoneClearsNotice(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	ntf := &fakeNotifier{seen: map[string]string{}, delivered: make(chan notify.Delivery, 16)}
	a.cfg.Notifier = ntf
	warn := []byte("name: Warn\napps:\n  zoom: {status: forbidden}\nactions: {forbidden: warn}\n")
	mustApply(t, a, f.signed(1, warn))
	zoom := proc(100, "zoom", 1)
	f.scanner.set(zoom)
	mustScan(t, a, f.scanner)
	if len(ntf.told) != 1 {
		t.Fatalf("told %d notices, want 1", len(ntf.told))
	}
	mustApply(t, a, f.signed(2, []byte("name: Open\napps:\n  zoom: {status: approved}\n")))
	if !slices.Contains(ntf.cleared, noticeKey(zoom.Key())) {
		t.Errorf("cleared %v; want zoom's notice cleared once it is approved", ntf.cleared)
	}
	mustApply(t, a, f.signed(3, warn))
	if len(ntf.told) != 2 {
		t.Errorf("told %d notices, want the warning again once zoom is forbidden again", len(ntf.told))
	}
}
