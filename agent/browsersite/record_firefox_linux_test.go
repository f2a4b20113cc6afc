package browsersite

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vcguard/vcguard/internal/machinelock"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/policies"
)

// firefoxPath finds Firefox. Without it the test is skipped, or fails when
// VCGUARD_REQUIRE_FIREFOX=1.
func firefoxPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"firefox-esr", "firefox"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no firefox in PATH: install it (apt-get install firefox-esr)"
	if os.Getenv("VCGUARD_REQUIRE_FIREFOX") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// marionette is a minimal client of Firefox's Marionette protocol
// (remote/marionette: messages "length:json", commands
// [0, id, name, params], replies [1, id, error, result]).
type marionette struct {
	conn net.Conn
	r    *bufio.Reader
	id   int
}

func dialMarionette(port int) (*marionette, error) {
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	m := &marionette{conn: conn, r: bufio.NewReader(conn)}
	if _, err := m.read(); err != nil { // the server's hello
		conn.Close()
		return nil, err
	}
	return m, nil
}

func (m *marionette) read() (json.RawMessage, error) {
	n, err := m.r.ReadString(':')
	if err != nil {
		return nil, err
	}
	size, err := strconv.Atoi(strings.TrimSuffix(n, ":"))
	if err != nil || size < 0 || size > 16<<20 {
		return nil, fmt.Errorf("marionette: bad length %q", n)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(m.r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

func (m *marionette) call(name string, params any) (json.RawMessage, error) {
	m.id++
	b, err := json.Marshal([]any{0, m.id, name, params})
	if err != nil {
		return nil, err
	}
	if _, err := m.conn.Write(append([]byte(strconv.Itoa(len(b))+":"), b...)); err != nil {
		return nil, err
	}
	raw, err := m.read()
	if err != nil {
		return nil, err
	}
	var reply []json.RawMessage
	if err := json.Unmarshal(raw, &reply); err != nil || len(reply) != 4 {
		return nil, fmt.Errorf("marionette %s: reply %.200s", name, raw)
	}
	if string(reply[2]) != "null" {
		return nil, fmt.Errorf("marionette %s: %.400s", name, reply[2])
	}
	return reply[3], nil
}

// script runs JavaScript in the current context and returns its value
// (a promise is awaited).
func (m *marionette) script(js string) (string, error) {
	raw, err := m.call("WebDriver:ExecuteScript", map[string]any{"script": js, "args": []any{}})
	if err != nil {
		return "", err
	}
	var v struct{ Value any }
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	return fmt.Sprint(v.Value), nil
}

var listeningPort = regexp.MustCompile(`Marionette\s+INFO\s+Listening on port (\d+)`)

// TestFirefoxRecordsGrants runs real Firefox: it creates a profile in a
// temporary home (Firefox writes profiles.ini), starts Firefox headless on
// it with Marionette, makes camera and microphone decisions through
// Firefox's own permission manager (Services.perms, what the "Remember this
// decision" prompt calls), checks on a page served from 127.0.0.1 that
// Firefox honours them with its prompt enabled (the camera, allowed, opens;
// the microphone, denied, is refused), reads them with Read while Firefox
// still runs and holds its database, quits Firefox and reads them again.
//
// With -update it rewrites testdata/firefox/ (permissions.sqlite and
// profiles.ini as Firefox wrote them).
func TestFirefoxRecordsGrants(t *testing.T) {
	machinelock.Lock(t, machinelock.BrowserPolicies)
	firefox := firefoxPath(t)
	home := t.TempDir()
	env := append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME=", "XDG_CACHE_HOME=", "MOZ_CRASHREPORTER_DISABLE=1")

	create := exec.Command(firefox, "--headless", "-CreateProfile", "vcguard")
	create.Env = env
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("firefox -CreateProfile: %v\n%s", err, out)
	}
	uid := os.Getuid()
	profiles, err := Profiles(home, uid, "firefox")
	if err != nil || len(profiles) != 1 {
		t.Fatalf("Profiles after firefox -CreateProfile = %q, %v; want one", profiles, err)
	}
	profile := profiles[0]
	prefs := strings.Join([]string{
		`user_pref("marionette.port", 0);`,
		`user_pref("media.navigator.streams.fake", true);`, // a fake camera and microphone; the prompt stays on
		`user_pref("browser.shell.checkDefaultBrowser", false);`,
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(mediaPage))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	local := "http://" + ln.Addr().String()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, firefox, "--headless", "--no-remote", "--marionette", "-remote-allow-system-access", "--profile", profile, "about:blank")
	cmd.Env = env
	// Marionette says on which port it listens in Firefox's log, on
	// stdout or stderr depending on the build: read both.
	logR, logW := io.Pipe()
	cmd.Stdout, cmd.Stderr = logW, logW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	portCh := make(chan int, 1)
	go func() {
		err := cmd.Wait()
		logW.Close()
		exited <- err
	}()
	go func() {
		sc := bufio.NewScanner(logR)
		for sc.Scan() {
			if m := listeningPort.FindStringSubmatch(sc.Text()); m != nil {
				p, _ := strconv.Atoi(m[1])
				select {
				case portCh <- p:
				default:
				}
			}
		}
		io.Copy(io.Discard, logR)
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	var port int
	select {
	case port = <-portCh:
	case err := <-exited:
		t.Fatalf("firefox exited before Marionette listened: %v", err)
	case <-ctx.Done():
		t.Fatal("firefox: Marionette did not listen")
	}
	m, err := dialMarionette(port)
	if err != nil {
		t.Fatalf("marionette: %v", err)
	}
	defer m.conn.Close()
	if _, err := m.call("WebDriver:NewSession", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	version, err := func() (string, error) {
		if _, err := m.call("Marionette:SetContext", map[string]any{"value": "chrome"}); err != nil {
			return "", err
		}
		// Services.perms is nsIPermissionManager, which writes
		// permissions.sqlite; the origin attribute userContextId is a
		// container tab's.
		return m.script(`
			const perms = Services.perms;
			const p = (origin, attrs) => Services.scriptSecurityManager.createContentPrincipal(Services.io.newURI(origin), attrs || {});
			perms.addFromPrincipal(p(` + jsString(local) + `), "camera", perms.ALLOW_ACTION);
			perms.addFromPrincipal(p(` + jsString(local) + `), "microphone", perms.DENY_ACTION);
			perms.addFromPrincipal(p("https://meet.jit.si"), "camera", perms.ALLOW_ACTION);
			perms.addFromPrincipal(p("https://meet.jit.si"), "microphone", perms.ALLOW_ACTION);
			perms.addFromPrincipal(p("https://app.element.io", {userContextId: 1}), "microphone", perms.ALLOW_ACTION);
			perms.addFromPrincipal(p("https://whereby.com"), "camera", perms.ALLOW_ACTION, perms.EXPIRE_TIME, Date.now() + 86400e3);
			perms.addFromPrincipal(p("https://zoom.us"), "camera", perms.DENY_ACTION);
			perms.addFromPrincipal(p("https://www.example.org:8443"), "camera", perms.ALLOW_ACTION);
			perms.addFromPrincipal(p("https://meet.jit.si"), "geo", perms.ALLOW_ACTION);
			return Services.appinfo.name + " " + Services.appinfo.version;`)
	}()
	if err != nil {
		t.Fatalf("decide through Services.perms: %v", err)
	}
	t.Logf("recording with %s", version)
	if _, err := m.call("Marionette:SetContext", map[string]any{"value": "content"}); err != nil {
		t.Fatal(err)
	}
	outcome := func(query string) string {
		t.Helper()
		if _, err := m.call("WebDriver:Navigate", map[string]any{"url": local + "/" + query}); err != nil {
			t.Fatalf("open %s: %v", query, err)
		}
		v, err := m.script(`return window.result;`)
		if err != nil {
			t.Fatalf("getUserMedia %s: %v", query, err)
		}
		return v
	}
	if got := outcome("?video"); got != "granted" {
		t.Fatalf("camera on %s, allowed: %s, want granted", local, got)
	}
	if got := outcome("?audio"); !strings.HasPrefix(got, "NotAllowedError") {
		t.Fatalf("microphone on %s, denied: %s, want NotAllowedError", local, got)
	}

	type row struct {
		Origin             string
		Camera, Microphone bool
		Expires            bool
	}
	rows := func(gs []Grant) []row {
		var out []row
		for _, g := range gs {
			out = append(out, row{g.Origin, g.Camera, g.Microphone, !g.Expires.IsZero()})
		}
		return out
	}
	want := []row{
		{local, true, false, false},
		{"https://app.element.io", false, true, false},
		{"https://meet.jit.si", true, false, false},
		{"https://meet.jit.si", false, true, false},
		{"https://whereby.com", true, false, true},
		{"https://www.example.org:8443", true, false, false},
	}
	// Firefox writes the database on its own thread, soon after the
	// decisions: read until they are all there, while Firefox runs and
	// holds the file.
	var running []Grant
	for deadline := time.Now().Add(30 * time.Second); ; {
		running, err = Read(ctx, home, uid, "firefox")
		if err == nil && reflect.DeepEqual(rows(running), want) {
			_, walErr := os.Stat(filepath.Join(profile, "permissions.sqlite-wal"))
			t.Logf("read while Firefox runs (permissions.sqlite-wal: %v)", walErr == nil)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Read while Firefox runs: %+v, %v; want %+v", rows(running), err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}

	if _, err := m.call("Marionette:Quit", map[string]any{"flags": []string{"eAttemptQuit"}}); err != nil {
		t.Fatalf("quit: %v", err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("firefox exit: %v", err)
		}
		exited <- nil // for the cleanup
	case <-ctx.Done():
		t.Fatal("firefox did not quit")
	}
	grants, err := Read(context.Background(), home, uid, "firefox")
	if err != nil {
		t.Fatalf("Read after quit: %v", err)
	}
	if got := rows(grants); !reflect.DeepEqual(got, want) {
		t.Errorf("Read after quit:\n got %+v\nwant %+v", got, want)
	}
	for _, g := range grants {
		if g.Profile != filepath.Base(profile) || g.Modified.IsZero() {
			t.Errorf("%s: profile %q (want %q), modified %v", g.Origin, g.Profile, filepath.Base(profile), g.Modified)
		}
	}
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if got, wantSites := Match(grants, cat), (Sites{Services: []string{"element", "jitsi-meet", "whereby"}, Others: 2}); !reflect.DeepEqual(got, wantSites) {
		t.Errorf("Match = %+v, want %+v", got, wantSites)
	}

	if *update {
		out := filepath.Join("testdata", "firefox")
		for _, f := range []struct{ from, to string }{
			{filepath.Join(profile, "permissions.sqlite"), "permissions.sqlite"},
			{filepath.Join(filepath.Dir(profile), "profiles.ini"), "profiles.ini"},
		} {
			data, err := os.ReadFile(f.from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, f.to), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(out, "VERSION"), []byte(version+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(profile, "permissions.sqlite-wal")); !errors.Is(err, os.ErrNotExist) {
			t.Logf("note: permissions.sqlite-wal left after quit: %v", err)
		}
		t.Logf("rewrote %s", out)
	}
}
