package notify

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/notify/notifytest"
	"github.com/vcguard/vcguard/policies"
)

// newTestDisplay connects a client to the bus at addr and returns a
// DBusDisplay on it.
func newTestDisplay(t *testing.T, addr string) *DBusDisplay {
	t.Helper()
	conn, err := ConnectSessionBus(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return NewDBusDisplay(conn, "vcguard")
}

func dbusTestContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func urgencyHint(t *testing.T, c notifytest.Call) byte {
	t.Helper()
	v, ok := c.Hints["urgency"]
	if !ok {
		t.Fatalf("Notify without urgency hint: %+v", c.Hints)
	}
	b, ok := v.Value().(byte)
	if !ok {
		t.Fatalf("urgency hint is %s, want a byte (y)", v.Signature())
	}
	return b
}

// zoomBlockNotice is the finding the D-Bus tests show.
func zoomBlockNotice(t *testing.T) Notice {
	zoom := catalogApp(t, "zoom")
	jitsi := catalogApp(t, "jitsi-meet")
	return Notice{
		Key: "zoom/forbidden/4711", AppID: zoom.ID, AppName: zoom.Name, Facts: zoom.Facts,
		Verdict: policies.VerdictForbidden, Action: policies.ActionBlock, Grace: 2 * time.Minute,
		Alternative: jitsi.ID, AlternativeName: jitsi.Name,
		InfoURL: "https://intranet.example.org/videobellen",
	}
}

func TestDBusDisplayShowsRenderedMessages(t *testing.T) {
	t.Parallel()
	addr := notifytest.StartSessionBus(t)
	srv := notifytest.StartServer(t, addr, "body", "actions")
	d := newTestDisplay(t, addr)
	ctx := dbusTestContext(t)

	n := zoomBlockNotice(t)
	want := map[string][]string{
		"en": {"Zoom Workplace is not approved", "Zoom Workplace will be closed in 2 minutes.", "Please use Jitsi Meet (desktop app) instead.", "Meeting data may be processed outside the EU."},
		"nl": {"Zoom Workplace is niet toegestaan", "Zoom Workplace wordt over 2 minuten afgesloten.", "Gebruik in plaats daarvan Jitsi Meet (desktop app).", "Vergadergegevens kunnen buiten de EU worden verwerkt."},
		"de": {"Zoom Workplace ist nicht zugelassen", "Zoom Workplace wird in 2 Minuten beendet.", "Bitte verwenden Sie stattdessen Jitsi Meet (desktop app).", "Besprechungsdaten können außerhalb der EU verarbeitet werden."},
	}
	var firstID uint32
	for i, lang := range []string{"en", "nl", "de"} {
		m := Render(n, lang)
		if err := d.Show(ctx, m); err != nil {
			t.Fatal(err)
		}
		calls := srv.Calls()
		if len(calls) != i+1 {
			t.Fatalf("%s: %d Notify calls, want %d", lang, len(calls), i+1)
		}
		c := calls[i]
		if c.AppName != "vcguard" || c.Summary != m.Title || c.Body != m.Body {
			t.Errorf("%s: Notify(app %q, summary %q, body %q), want (vcguard, %q, %q)", lang, c.AppName, c.Summary, c.Body, m.Title, m.Body)
		}
		if c.Summary != want[lang][0] {
			t.Errorf("%s: summary %q, want %q", lang, c.Summary, want[lang][0])
		}
		for _, s := range want[lang][1:] {
			if !strings.Contains(c.Body, s) {
				t.Errorf("%s: body lacks %q:\n%s", lang, s, c.Body)
			}
		}
		if u := urgencyHint(t, c); u != byte(UrgencyCritical) {
			t.Errorf("%s: urgency %d, want 2 (critical)", lang, u)
		}
		if c.Expire != 0 {
			t.Errorf("%s: expire_timeout %d, want 0 (stays until dismissed) for critical", lang, c.Expire)
		}
		if !slices.Equal(c.Actions, []string{"default", m.URLLabel}) || m.URLLabel == "" {
			t.Errorf("%s: actions %q, want [default %q]", lang, c.Actions, m.URLLabel)
		}
		// The same key replaces the notification on screen.
		if i == 0 {
			firstID = c.ID
			if c.ReplacesID != 0 {
				t.Errorf("first Notify replaces %d, want 0", c.ReplacesID)
			}
		} else if c.ReplacesID != firstID {
			t.Errorf("%s: replaces_id %d, want %d (same key)", lang, c.ReplacesID, firstID)
		}
	}

	// A warning (not a block) expires as the server decides; a different
	// key is a new notification.
	warn := n
	warn.Key, warn.Action, warn.Grace = "teams/restricted", policies.ActionWarn, 0
	warn.Verdict, warn.InfoURL = policies.VerdictRestricted, ""
	if err := d.Show(ctx, Render(warn, "nl")); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls()
	c := calls[len(calls)-1]
	if c.Expire != -1 || urgencyHint(t, c) != byte(UrgencyNormal) || c.ReplacesID != 0 || len(c.Actions) != 0 {
		t.Errorf("warning: expire %d, urgency %d, replaces %d, actions %q; want -1, 1, 0, none", c.Expire, urgencyHint(t, c), c.ReplacesID, c.Actions)
	}
}

func TestDBusDisplayEscapesMarkup(t *testing.T) {
	t.Parallel()
	addr := notifytest.StartSessionBus(t)
	srv := notifytest.StartServer(t, addr, "body", "body-markup", "body-hyperlinks")
	d := newTestDisplay(t, addr)

	m := Message{Key: "k", Title: "A & B", Body: "Use <Jitsi> & co.\nMore: https://example.org/?a=1&b=2", URL: "https://example.org/?a=1&b=2"}
	if err := d.Show(dbusTestContext(t), m); err != nil {
		t.Fatal(err)
	}
	c := srv.Calls()[0]
	want := `Use &lt;Jitsi&gt; &amp; co.` + "\n" + `More: <a href="https://example.org/?a=1&amp;b=2">https://example.org/?a=1&amp;b=2</a>`
	if c.Body != want {
		t.Errorf("body %q, want %q", c.Body, want)
	}
	if c.Summary != "A & B" {
		t.Errorf("summary %q: the summary is plain text and must not be escaped", c.Summary)
	}
	if len(c.Actions) != 0 {
		t.Errorf("actions %q offered to a server without the actions capability", c.Actions)
	}
}

// TestDBusNoStorm checks the Limiter and the DBusDisplay together: three
// identical findings give one notification, a change of content a second,
// a persisting finding a reminder after the quiet period, and a relaunch
// after the finding cleared a new one.
func TestDBusNoStorm(t *testing.T) {
	t.Parallel()
	addr := notifytest.StartSessionBus(t)
	srv := notifytest.StartServer(t, addr, "body", "actions")
	d := newTestDisplay(t, addr)
	ctx := dbusTestContext(t)
	clock := newStepClock()
	l := &Limiter{QuietPeriod: 10 * time.Minute, Now: clock.Now}

	notify := func(n Notice) {
		t.Helper()
		if l.Allow(n) {
			if err := d.Show(ctx, Render(n, Language("nl_NL.UTF-8"))); err != nil {
				t.Fatal(err)
			}
		}
	}
	warn := zoomBlockNotice(t)
	warn.Action, warn.Grace = policies.ActionWarn, 0

	for range 3 {
		notify(warn)
		clock.Advance(time.Second)
	}
	if got := len(srv.Calls()); got != 1 {
		t.Fatalf("three identical findings: %d notifications, want 1", got)
	}

	block := warn
	block.Action, block.Grace = policies.ActionBlock, 2*time.Minute
	notify(block)
	notify(block)
	calls := srv.Calls()
	if len(calls) != 2 {
		t.Fatalf("after the action changed: %d notifications, want 2", len(calls))
	}
	if !strings.Contains(calls[1].Body, "wordt over 2 minuten afgesloten") || calls[1].ReplacesID != calls[0].ID {
		t.Errorf("second notification: body %q replaces %d; want the block text replacing %d", calls[1].Body, calls[1].ReplacesID, calls[0].ID)
	}

	clock.Advance(9 * time.Minute)
	notify(block)
	if got := len(srv.Calls()); got != 2 {
		t.Fatalf("within the quiet period: %d notifications, want 2", got)
	}
	clock.Advance(time.Minute)
	notify(block)
	if got := len(srv.Calls()); got != 3 {
		t.Fatalf("after the quiet period: %d notifications, want 3 (a reminder)", got)
	}

	// The app exits: the finding goes away and its notification with it.
	l.Clear(block.Key)
	if err := d.Withdraw(ctx, block.Key); err != nil {
		t.Fatal(err)
	}
	if closed := srv.Closed(); len(closed) != 1 || closed[0] != calls[0].ID {
		t.Errorf("CloseNotification calls %v, want [%d]", closed, calls[0].ID)
	}
	// Relaunched: warned again, as a new notification.
	notify(block)
	calls = srv.Calls()
	if len(calls) != 4 || calls[3].ReplacesID != 0 {
		t.Fatalf("after the relaunch: %d notifications (last replaces %d), want 4, a new one", len(calls), calls[len(calls)-1].ReplacesID)
	}
}

func TestDBusDisplayOpensURLOnDefaultAction(t *testing.T) {
	t.Parallel()
	addr := notifytest.StartSessionBus(t)
	srv := notifytest.StartServer(t, addr, "body", "actions")
	d := newTestDisplay(t, addr)
	ctx := dbusTestContext(t)

	m := Render(zoomBlockNotice(t), "en")
	if err := d.Show(ctx, m); err != nil {
		t.Fatal(err)
	}
	id := srv.Calls()[0].ID

	opened := make(chan string, 1)
	watchCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- d.WatchActions(watchCtx, func(u string) {
			select {
			case opened <- u:
			default:
			}
		})
	}()
	// WatchActions subscribes on its own goroutine; a signal sent before
	// it has would be lost, so the server repeats it until it is seen.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var got string
wait:
	for {
		if err := srv.Emit("ActionInvoked", id, "default"); err != nil {
			t.Fatal(err)
		}
		select {
		case got = <-opened:
			break wait
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the default action never opened the URL")
		}
	}
	if got != m.URL {
		t.Errorf("opened %q, want %q", got, m.URL)
	}
	stop()
	if err := <-done; err != context.Canceled {
		t.Errorf("WatchActions returned %v, want context.Canceled", err)
	}
}

func TestConnectSessionBusError(t *testing.T) {
	t.Parallel()
	_, err := ConnectSessionBus("unix:path=" + filepath.Join(t.TempDir(), "no-bus"))
	if err == nil || !strings.Contains(err.Error(), "desktop session") {
		t.Errorf("ConnectSessionBus to nothing: %v, want an error that says what to do", err)
	}
}
