package notify

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/agent/notify/notifytest"
	"github.com/vcguard/vcguard/policies"
)

// The whole path for the connection and site findings: the service hands
// a wrong_server notice (then an unapproved_site one) to the IPC server,
// the per-user notifier of a German session receives it over the unix
// socket, renders it and shows it on a private D-Bus session's
// notification server: in German, naming the app and the server, closing
// it in 2 minutes (critical, with the info page as its action); the site
// notice names the services and never closes the browser.
func TestConnectionAndSiteNoticesReachDBusInGerman(t *testing.T) {
	t.Parallel()
	addr := notifytest.StartSessionBus(t) // skips without dbus-daemon unless VCGUARD_REQUIRE_DBUS=1
	bus := notifytest.StartServer(t, addr, "body", "actions")
	ts := startServer(t, &localipc.Server{})
	svc := &Service{Server: ts.Server, Limiter: &Limiter{}}
	defer svc.Close()
	connected := make(chan localipc.Session, 1)
	ts.AddConnectHook(func(s localipc.Session) { connected <- s })
	startNotifier(t, ts.path, addr, "de_DE.UTF-8")
	select {
	case s := <-connected:
		if s.Lang != "de" {
			t.Fatalf("session language %q, want de", s.Lang)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the notifier did not connect")
	}

	jitsi := catalogApp(t, "jitsi-meet")
	n := Notice{
		Key: "jitsi-meet/wrong_server/meet.jit.si", AppID: jitsi.ID, AppName: jitsi.Name, PID: os.Getpid(),
		Action: policies.ActionBlock, Grace: 2 * time.Minute,
		ConnectionFinding: policies.ConnectionWrongServer, ConnectionDetail: "meet.jit.si",
		InfoURL: "https://intranet.example.org/jitsi",
	}
	if limited := svc.Notify(n); limited {
		t.Fatal("the notice was held back")
	}
	if d := nextDelivery(t, svc); d.Sessions != 1 || d.Lang != "de" || len(d.Failures) != 0 || d.Notice.Key != n.Key {
		t.Fatalf("outcome %+v; want displayed in 1 session, in de", d)
	}
	calls := bus.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d notifications on D-Bus, want 1", len(calls))
	}
	c := calls[0]
	if want := "Jitsi Meet (desktop app): nicht der Server Ihrer Organisation"; c.Summary != want {
		t.Errorf("summary %q, want %q", c.Summary, want)
	}
	for _, line := range []string{
		"Jitsi Meet (desktop app) ist für meet.jit.si eingerichtet, einen Server, den Ihre Organisation nicht freigegeben hat.",
		"Jitsi Meet (desktop app) wird in 2 Minuten beendet. Bitte speichern Sie Ihre Arbeit.",
		"Bitte verwenden Sie für dienstliche Besprechungen den Server Ihrer Organisation.",
		"Weitere Informationen: https://intranet.example.org/jitsi",
	} {
		if !slices.Contains(strings.Split(c.Body, "\n"), line) {
			t.Errorf("body lacks the line %q:\n%s", line, c.Body)
		}
	}
	// The notifier renders with the same code as here.
	if m := Render(n, "de"); c.Summary != m.Title || c.Body != m.Body {
		t.Errorf("shown %q / %q, Render gives %q / %q", c.Summary, c.Body, m.Title, m.Body)
	}
	if u := urgencyHint(t, c); u != byte(UrgencyCritical) || c.Expire != 0 {
		t.Errorf("urgency %d, expire %d; want 2 (critical), 0 (stays until dismissed)", u, c.Expire)
	}
	if !slices.Equal(c.Actions, []string{"default", "Weitere Informationen"}) {
		t.Errorf("actions %q, want the info page as the default action", c.Actions)
	}

	firefox := catalogApp(t, "firefox")
	site := Notice{
		Key: "firefox/unapproved_site", AppID: firefox.ID, AppName: firefox.Name, PID: os.Getpid(), Action: policies.ActionWarn,
		SiteFinding: policies.SiteUnapproved, SiteServices: []string{"Google Meet", "Whereby"},
		Alternative: jitsi.ID, AlternativeName: jitsi.Name,
	}
	svc.Notify(site)
	if d := nextDelivery(t, svc); d.Sessions != 1 || d.Notice.Key != site.Key {
		t.Fatalf("outcome %+v; want displayed in 1 session", d)
	}
	calls = bus.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d notifications on D-Bus, want 2", len(calls))
	}
	c = calls[1]
	wantBody := "Mozilla Firefox erlaubt Google Meet und Whereby, die Kamera oder das Mikrofon zu verwenden; Ihre Organisation hat diese Dienste nicht freigegeben.\n" +
		"Bitte verwenden Sie stattdessen Jitsi Meet (desktop app)."
	if c.Summary != "Mozilla Firefox: nicht freigegebene Besprechungsdienste" || c.Body != wantBody {
		t.Errorf("shown %q / %q; want the German site notice", c.Summary, c.Body)
	}
	if u := urgencyHint(t, c); u != byte(UrgencyNormal) || c.ReplacesID != 0 {
		t.Errorf("urgency %d, replaces %d; want 1 (normal), a new notification", u, c.ReplacesID)
	}
}
