package dashboard_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
)

// The device timeline says who was told what: a notice displayed (in
// how many sessions, which language), one nobody saw and why, and one
// shown again to a notifier that started later.
func TestDeviceTimelineShowsWhoWasTold(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	at := time.Now().Add(-time.Minute)
	notified := func(seq uint64, n *vcguardv1.UserNotified) *vcguardv1.Event {
		n.AppId, n.Verdict, n.PolicyAction = "zoom", vcguardv1.Verdict_VERDICT_FORBIDDEN, vcguardv1.Action_ACTION_WARN
		return &vcguardv1.Event{Seq: seq, Time: timestamppb.New(at.Add(time.Duration(seq) * time.Second)), Detail: &vcguardv1.Event_UserNotified{UserNotified: n}}
	}
	if _, err := e.store.IngestEvents(t.Context(), "dev-1", []*vcguardv1.Event{
		notified(1, &vcguardv1.UserNotified{Failures: []string{"nobody was told: no notifier is running for the app's user"}}),
		notified(2, &vcguardv1.UserNotified{Failures: []string{`session "2": org.freedesktop.Notifications was not provided`}}),
		notified(3, &vcguardv1.UserNotified{Sessions: 1, Lang: "de", Replayed: true}),
	}, time.Now()); err != nil {
		t.Fatal(err)
	}
	b, _ := e.loggedIn(t, store.RoleAnalyst)
	_, body := b.get("/devices/dev-1")
	for _, want := range []string{
		"<th>Told</th>",
		"forbidden, warn: not displayed: nobody was told: no notifier is running for the app&#39;s user",
		"forbidden, warn: not displayed: session &#34;2&#34;: org.freedesktop.Notifications was not provided",
		"forbidden, warn: displayed in 1 session (de), shown again to a notifier that started later",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("device page lacks %q:\n%.4000s", want, body[strings.Index(body, "Recent events"):])
		}
	}
}
