// Package e2e starts the real vcguard-server and vcguard-agent binaries
// together and checks what an administrator sees.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the binaries TestMain builds once for every test.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vcguard-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "github.com/vcguard/vcguard/agent/cmd/vcguard-agent", "github.com/vcguard/vcguard/server/cmd/vcguard-server",
		"github.com/vcguard/vcguard/server/cmd/vcguardctl")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is a started binary whose output goes to a log file.
type proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func start(t *testing.T, name, logPath string, args ...string) *proc {
	t.Helper()
	return startCmd(t, name, logPath, exec.Command(filepath.Join(binDir, name), args...))
}

// startCmd starts cmd with its output going to logPath; the log is shown
// when the test fails.
func startCmd(t *testing.T, name, logPath string, cmd *exec.Cmd) *proc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("--- %s log (%s) ---\n%s", name, logPath, data)
		}
	})
	return p
}

// stop ends the process with SIGTERM (SIGKILL after 10 s) and waits.
func (p *proc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		// SIGQUIT makes a Go program print every goroutine's stack into
		// its log (shown below when the test fails): what it waited on.
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		t.Errorf("%s did not stop within 10 s of SIGTERM (its goroutines are in its log)", p.cmd.Path)
	}
}

// server is a running vcguard-server.
type server struct {
	*proc
	data     string
	grpcAddr string
	httpAddr string
	client   *http.Client
	token    string
}

func startServer(t *testing.T, data, grpcAddr, httpAddr string) *server {
	t.Helper()
	s, err := tryStartServer(t, data, grpcAddr, httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// errPortTaken means another process bound one of the chosen ports first.
var errPortTaken = errors.New("port taken")

func tryStartServer(t *testing.T, data, grpcAddr, httpAddr string, extra ...string) (*server, error) {
	t.Helper()
	p := start(t, "vcguard-server", filepath.Join(data, "..", filepath.Base(data)+"-server.log"),
		append([]string{"--data", data, "--grpc-addr", grpcAddr, "--http-addr", httpAddr}, extra...)...)
	s := &server{proc: p, data: data, grpcAddr: grpcAddr, httpAddr: httpAddr}
	waitFor(t, 20*time.Second, "server to answer /healthz", func() bool {
		select {
		case <-p.done:
			return true
		default:
		}
		if s.client == nil {
			caPEM, err := os.ReadFile(filepath.Join(data, "ca.pem"))
			if err != nil {
				return false
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(caPEM) {
				return false
			}
			s.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		}
		resp, err := s.client.Get("https://" + httpAddr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	select {
	case <-p.done:
		log, _ := os.ReadFile(p.log)
		if bytes.Contains(log, []byte("address already in use")) {
			return nil, errPortTaken
		}
		return nil, fmt.Errorf("server exited: %v", p.err)
	default:
	}
	token, err := os.ReadFile(filepath.Join(data, "admin-token"))
	if err != nil {
		return nil, err
	}
	s.token = strings.TrimSpace(string(token))
	return s, nil
}

// newServer starts a server on fresh ports in a new data directory. Ports
// are picked free and may be taken by a parallel test before the server
// binds them, so a bind failure is retried with new ones.
func newServer(t *testing.T) *server {
	t.Helper()
	root := t.TempDir()
	for attempt := 0; ; attempt++ {
		s, err := tryStartServer(t, filepath.Join(root, "data"), freeAddr(t), freeAddr(t))
		if errors.Is(err, errPortTaken) && attempt < 5 {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// api calls the JSON API with the admin token and decodes the answer into v.
func (s *server) api(t *testing.T, method, path string, body []byte, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, "https://"+s.httpAddr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

type device struct {
	ID            string    `json:"id"`
	Hostname      string    `json:"hostname"`
	OS            string    `json:"os"`
	OSVersion     string    `json:"os_version"`
	LastSeen      time.Time `json:"last_seen"`
	Online        bool      `json:"online"`
	PolicyVersion uint64    `json:"policy_version"`
	Apps          []apiApp  `json:"apps"`
}

// apiApp is an app instance as GET /api/v1/devices lists it.
type apiApp struct {
	AppID    string `json:"app_id"`
	Name     string `json:"name"`
	PID      int    `json:"pid"`
	Running  bool   `json:"running"`
	Verdict  string `json:"verdict"`
	Exe      string `json:"exe"`
	Version  string `json:"version"`
	Verified bool   `json:"verified"`
	Identity string `json:"identity"`
}

// apiEvents reads one page of GET /api/v1/events (query is the path with
// its parameters) into v, a slice of the caller's event type.
func (s *server) apiEvents(t *testing.T, query string, v any) int {
	t.Helper()
	var page struct {
		Events json.RawMessage `json:"events"`
	}
	code := s.api(t, http.MethodGet, query, nil, &page)
	if code == http.StatusOK {
		if err := json.Unmarshal(page.Events, v); err != nil {
			t.Fatalf("GET %s: decode events: %v", query, err)
		}
	}
	return code
}

// devices lists every device with its apps: the list comes in pages
// without app rows, so each device's detail is read for them.
func (s *server) devices(t *testing.T) []device {
	t.Helper()
	var devs []device
	cursor := ""
	for {
		var page struct {
			Devices    []device `json:"devices"`
			NextCursor string   `json:"next_cursor"`
		}
		q := "/api/v1/devices?limit=1000&cursor=" + url.QueryEscape(cursor)
		if code := s.api(t, http.MethodGet, q, nil, &page); code != http.StatusOK {
			t.Fatalf("GET %s: status %d", q, code)
		}
		devs = append(devs, page.Devices...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	for i := range devs {
		q := "/api/v1/devices/" + url.PathEscape(devs[i].ID)
		if code := s.api(t, http.MethodGet, q, nil, &devs[i]); code != http.StatusOK {
			t.Fatalf("GET %s: status %d", q, code)
		}
	}
	return devs
}

// agentArgs are the flags to run an agent against s.
func (s *server) agentArgs(stateDir string) []string {
	return []string{"--server", s.grpcAddr, "--enroll-secret-file", filepath.Join(s.data, "enroll-secret"),
		"--ca-file", filepath.Join(s.data, "ca.pem"), "--state-dir", stateDir, "--scan-interval", "200ms",
		"--policy-dir", stateDir + "-policy.d", "--status-file", stateDir + "-status.json",
		"--notify-socket", filepath.Join(filepath.Dir(stateDir), "notify", "notify.sock")}
}

func startAgent(t *testing.T, s *server, stateDir string) *proc {
	t.Helper()
	return start(t, "vcguard-agent", stateDir+"-agent.log", append([]string{"run"}, s.agentArgs(stateDir)...)...)
}

// waitFor polls cond every 50 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fakeApp starts a copy of a harmless binary under a catalog app's
// executable name; it runs until stopped.
type fakeApp struct {
	cmd  *exec.Cmd
	once sync.Once
}

// startFakeApp starts a look-alike: a copy of sleep under the app's name
// in a temporary directory, which is not where the app is installed.
func startFakeApp(t *testing.T, name string) *fakeApp {
	t.Helper()
	return startCopy(t, "sleep", filepath.Join(t.TempDir(), name), "600")
}

// startCopy copies the binary src (looked up in PATH) to exe and runs it
// with args.
func startCopy(t *testing.T, src, exe string, args ...string) *fakeApp {
	t.Helper()
	installCopy(t, src, exe)
	cmd := exec.Command(exe, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &fakeApp{cmd: cmd}
	t.Cleanup(a.stop)
	return a
}

func installCopy(t *testing.T, src, exe string) {
	t.Helper()
	srcPath, err := exec.LookPath(src)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(srcPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// genuineZoomDir installs a stand-in for Zoom where Zoom's Linux package
// puts it, /opt/zoom/, root-owned and writable by root only: by the
// catalog's install path it is the genuine app. The directory is removed
// when the test ends; a machine that has a real Zoom there is left alone.
func genuineZoomDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("installing under /opt needs root (CI runs as root)")
	}
	const dir = "/opt/zoom"
	if _, err := os.Stat(dir); err == nil {
		t.Fatalf("%s exists: this test installs a stand-in there and will not touch a real Zoom", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// startGenuineZoom runs the stand-in as /opt/zoom/zoom.
func startGenuineZoom(t *testing.T) *fakeApp {
	t.Helper()
	return startCopy(t, "sleep", filepath.Join(genuineZoomDir(t), "zoom"), "600")
}

func (a *fakeApp) pid() int { return a.cmd.Process.Pid }

func (a *fakeApp) stop() {
	a.once.Do(func() {
		_ = a.cmd.Process.Kill()
		_ = a.cmd.Wait()
	})
}

// appOf returns the app instance with pid as the API lists it.
func appOf(devs []device, appID string, pid int) (apiApp, bool) {
	for _, d := range devs {
		for _, a := range d.Apps {
			if a.AppID == appID && a.PID == pid {
				return a, true
			}
		}
	}
	return apiApp{}, false
}

// appState returns (found, running, verdict) of the app instance with pid.
func appState(devs []device, appID string, pid int) (bool, bool, string) {
	for _, d := range devs {
		for _, a := range d.Apps {
			if a.AppID == appID && a.PID == pid {
				return true, a.Running, a.Verdict
			}
		}
	}
	return false, false, ""
}

func runCmd(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, name), args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
