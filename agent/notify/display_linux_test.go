package notify

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/vcguard/vcguard/policies"
)

// Set VCGUARD_REQUIRE_DBUS=1 (CI) to make the D-Bus tests fail instead of
// skipping when dbus-daemon is not installed.
const requireDBusEnv = "VCGUARD_REQUIRE_DBUS"

// startSessionBus starts a private dbus-daemon session bus for the test
// and returns its address. The daemon stops when the test ends.
func startSessionBus(t *testing.T) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		if os.Getenv(requireDBusEnv) == "1" {
			t.Fatalf("dbus-daemon not found (%v) and %s=1: install the dbus-daemon package", err, requireDBusEnv)
		}
		t.Skipf("dbus-daemon not found (%v): install the dbus-daemon package to test notifications for real (set %s=1 to make this an error)", err, requireDBusEnv)
	}
	// A short directory: unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "vcg-dbus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cmd := exec.Command(daemon, "--session", "--nofork", "--print-address",
		"--address=unix:path="+filepath.Join(dir, "bus"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Its complaints (such as not raising the fd limit unprivileged) go to
	// a file, shown only when it fails.
	logPath := filepath.Join(dir, "dbus-daemon.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", daemon, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// The daemon prints its address once it listens.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("read the address dbus-daemon prints: %v\n%s", err, log)
	}
	addr := strings.TrimSpace(line)
	if addr == "" {
		t.Fatal("dbus-daemon printed an empty address")
	}
	return addr
}

// notifyCall is one recorded org.freedesktop.Notifications.Notify call.
type notifyCall struct {
	AppName    string
	ReplacesID uint32
	Icon       string
	Summary    string
	Body       string
	Actions    []string
	Hints      map[string]dbus.Variant
	Expire     int32
	ID         uint32 // the id the server answered
}

// notificationServer is a minimal org.freedesktop.Notifications service
// that records what it is asked to show.
type notificationServer struct {
	conn *dbus.Conn
	caps []string

	mu     sync.Mutex
	calls  []notifyCall
	closed []uint32
	lastID uint32
}

// startNotificationServer connects to the bus at addr, exports the
// service and owns its well-known name.
func startNotificationServer(t *testing.T, addr string, caps ...string) *notificationServer {
	t.Helper()
	conn, err := ConnectSessionBus(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &notificationServer{conn: conn, caps: caps}
	if err := conn.Export(s, notificationsPath, notificationsIface); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(notificationsName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: reply %v, %v", notificationsName, reply, err)
	}
	return s
}

func (s *notificationServer) GetCapabilities() ([]string, *dbus.Error) {
	return s.caps, nil
}

func (s *notificationServer) Notify(appName string, replacesID uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, expire int32) (uint32, *dbus.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := replacesID
	if id == 0 {
		s.lastID++
		id = s.lastID
	}
	s.calls = append(s.calls, notifyCall{appName, replacesID, icon, summary, body, actions, hints, expire, id})
	return id, nil
}

func (s *notificationServer) CloseNotification(id uint32) *dbus.Error {
	s.mu.Lock()
	s.closed = append(s.closed, id)
	s.mu.Unlock()
	// 3: closed by a call to CloseNotification.
	if err := s.conn.Emit(notificationsPath, notificationsIface+".NotificationClosed", id, uint32(3)); err != nil {
		return dbus.MakeFailedError(err)
	}
	return nil
}

func (s *notificationServer) GetServerInformation() (name, vendor, version, specVersion string, err *dbus.Error) {
	return "vcguard-test", "vcguard", "1", "1.2", nil
}

func (s *notificationServer) Calls() []notifyCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *notificationServer) Closed() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.closed)
}

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

func urgencyHint(t *testing.T, c notifyCall) byte {
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
	addr := startSessionBus(t)
	srv := startNotificationServer(t, addr, "body", "actions")
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
	addr := startSessionBus(t)
	srv := startNotificationServer(t, addr, "body", "body-markup", "body-hyperlinks")
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
	addr := startSessionBus(t)
	srv := startNotificationServer(t, addr, "body", "actions")
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
	addr := startSessionBus(t)
	srv := startNotificationServer(t, addr, "body", "actions")
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
		if err := srv.conn.Emit(notificationsPath, notificationsIface+".ActionInvoked", id, "default"); err != nil {
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
