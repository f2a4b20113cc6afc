// Package notifytest gives the notice tests what they need of a Linux
// desktop: a private D-Bus session bus and a minimal
// org.freedesktop.Notifications service that records what it is asked to
// show. Test support only (agent/notify and e2e); nothing in the product
// imports it.
package notifytest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// RequireEnv, set to 1 (CI), makes a missing dbus-daemon fail the test
// instead of skipping it.
const RequireEnv = "VCGUARD_REQUIRE_DBUS"

// The notification service's names in the freedesktop specification.
const (
	Name = "org.freedesktop.Notifications"
	Path = "/org/freedesktop/Notifications"
)

// StartSessionBus starts a private dbus-daemon session bus for the test
// and returns its address; the daemon stops when the test ends. Its
// configuration names no service directories, so a name nobody owns
// (org.freedesktop.Notifications when the test serves none) is not
// activated from whatever the machine has installed: the bus answers that
// it was not provided, as on a desktop without a notification daemon.
func StartSessionBus(t testing.TB) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("dbus-daemon not found (%v) and %s=1: install the dbus-daemon package", err, RequireEnv)
		}
		t.Skipf("dbus-daemon not found (%v): install the dbus-daemon package to test notifications for real (set %s=1 to make this an error)", err, RequireEnv)
	}
	// A short directory: unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "vcg-dbus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	config := `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=` + filepath.Join(dir, "bus") + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`
	configPath := filepath.Join(dir, "session.conf")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+configPath, "--nofork", "--print-address")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Its complaints go to a file, shown only when it fails.
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

// Call is one recorded Notify call, with the id the server answered and
// when it arrived.
type Call struct {
	AppName    string
	ReplacesID uint32
	Icon       string
	Summary    string
	Body       string
	Actions    []string
	Hints      map[string]dbus.Variant
	Expire     int32
	ID         uint32
	At         time.Time
}

// Server is a minimal org.freedesktop.Notifications service. Its exported
// methods with *dbus.Error results are the D-Bus interface.
type Server struct {
	conn *dbus.Conn
	caps []string

	mu     sync.Mutex
	calls  []Call
	closed []uint32
	lastID uint32
}

// StartServer connects to the bus at addr, exports the service with the
// capabilities caps and owns its name for the rest of the test.
func StartServer(t testing.TB, addr string, caps ...string) *Server {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect to the test's session bus %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &Server{conn: conn, caps: caps}
	if err := conn.Export(s, Path, Name); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(Name, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: reply %v, %v", Name, reply, err)
	}
	return s
}

// GetCapabilities is the D-Bus method a client may ask first.
func (s *Server) GetCapabilities() ([]string, *dbus.Error) { return s.caps, nil }

// Notify is the D-Bus method that shows a notice; it is recorded.
func (s *Server) Notify(appName string, replacesID uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, expire int32) (uint32, *dbus.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := replacesID
	if id == 0 {
		s.lastID++
		id = s.lastID
	}
	s.calls = append(s.calls, Call{appName, replacesID, icon, summary, body, actions, hints, expire, id, time.Now()})
	return id, nil
}

// CloseNotification is the D-Bus method that withdraws a notice; it is
// recorded and answered with NotificationClosed.
func (s *Server) CloseNotification(id uint32) *dbus.Error {
	s.mu.Lock()
	s.closed = append(s.closed, id)
	s.mu.Unlock()
	// 3: closed by a call to CloseNotification.
	if err := s.conn.Emit(Path, Name+".NotificationClosed", id, uint32(3)); err != nil {
		return dbus.MakeFailedError(err)
	}
	return nil
}

// GetServerInformation names the test's service.
func (s *Server) GetServerInformation() (name, vendor, version, specVersion string, err *dbus.Error) {
	return "vcguard-test", "vcguard", "1", "1.2", nil
}

// Calls returns the Notify calls so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Closed returns the ids withdrawn so far.
func (s *Server) Closed() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.closed)
}

// Find returns the first call whose summary contains sub.
func (s *Server) Find(sub string) (Call, bool) {
	for _, c := range s.Calls() {
		if strings.Contains(c.Summary, sub) {
			return c, true
		}
	}
	return Call{}, false
}

// Emit sends the service's signal (ActionInvoked, NotificationClosed)
// with args, as a desktop does when the person clicks.
func (s *Server) Emit(signal string, args ...any) error {
	return s.conn.Emit(Path, Name+"."+signal, args...)
}
