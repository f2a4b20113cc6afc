//go:build wine

// The Windows agent end to end: the real vcguard-agent.exe, built for
// windows/amd64, runs under Wine against the real Linux vcguard-server.
// These tests run in the Windows lane (make test-windows), which makes the
// Wine prefix and passes it in VCGUARD_WINEPREFIX; the build tag keeps them
// out of the Linux `go test ./...`.
package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// wineEnv is the Wine prefix and the Windows binaries the tests run in it.
type wineEnv struct {
	prefix string // Linux path of the prefix
	bin    string // Linux directory of the built Windows binaries
	// signed and unsigned are the stand-in app (e2e/testdata/winapp):
	// signed by a test signer named like Zoom's publisher, whose
	// certificate is in the prefix's trusted root store, and not signed.
	signed, unsigned string
}

var (
	wineOnce sync.Once
	wineSet  *wineEnv
	wineErr  error
)

// wineSetup builds the Windows binaries and trusts the test signer, once
// for every test.
func wineSetup(t *testing.T) *wineEnv {
	t.Helper()
	prefix := os.Getenv("VCGUARD_WINEPREFIX")
	if prefix == "" {
		t.Fatal("VCGUARD_WINEPREFIX is not set: the Wine tests run in `make test-windows`, which makes the prefix")
	}
	wineOnce.Do(func() { wineSet, wineErr = buildWine(prefix) })
	if wineErr != nil {
		t.Fatal(wineErr)
	}
	return wineSet
}

func buildWine(prefix string) (*wineEnv, error) {
	w := &wineEnv{prefix: prefix, bin: filepath.Join(binDir, "windows")}
	build := exec.Command("go", "build", "-trimpath", "-o", w.bin+string(os.PathSeparator),
		"github.com/vcguard/vcguard/agent/cmd/vcguard-agent",
		"github.com/vcguard/vcguard/e2e/testdata/winapp",
		"github.com/vcguard/vcguard/e2e/testdata/winroot")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the Windows binaries: %v\n%s", err, out)
	}
	w.unsigned = filepath.Join(w.bin, "winapp.exe")
	w.signed = filepath.Join(w.bin, "winapp-signed.exe")
	certFile, err := signWithTestSigner(w.bin, w.unsigned, w.signed)
	if err != nil {
		return nil, err
	}
	// As IT would deploy its signer's root: LocalMachine\Root.
	if out, err := w.cmd(w.exe("winroot.exe"), zPath(certFile)).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("trust the test signer in the prefix: %v\n%s", err, out)
	}
	return w, nil
}

// signWithTestSigner signs in into out with a new self-signed code-signing
// certificate for "Zoom Video Communications, Inc." (one of the catalog's
// publishers of Zoom), using osslsigncode. It returns the certificate file.
func signWithTestSigner(dir, in, out string) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{Country: []string{"US"}, Organization: []string{"Zoom Video Communications, Inc."},
			CommonName: "vcguard e2e test signer"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	certFile, keyFile := filepath.Join(dir, "signer.pem"), filepath.Join(dir, "signer.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return "", err
	}
	cmd := exec.Command("osslsigncode", "sign", "-certs", certFile, "-key", keyFile, "-h", "sha256", "-n", "Zoom", "-in", in, "-out", out)
	if o, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("osslsigncode sign: %v\n%s", err, o)
	}
	return certFile, nil
}

// cmd runs a Windows program in the prefix.
func (w *wineEnv) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command("wine", args...)
	cmd.Env = append(os.Environ(), "WINEPREFIX="+w.prefix, "WINEDEBUG=-all")
	return cmd
}

// exe is a built Windows binary as the prefix sees it (drive Z: is /).
func (w *wineEnv) exe(name string) string { return zPath(filepath.Join(w.bin, name)) }

// zPath is a Linux path as programs in the prefix see it.
func zPath(p string) string { return "Z:" + strings.ReplaceAll(p, "/", `\`) }

// host is the Linux path of a C: path of the prefix.
func (w *wineEnv) host(win string) string {
	rest, ok := strings.CutPrefix(win, `C:\`)
	if !ok {
		panic("not a C: path: " + win)
	}
	return filepath.Join(w.prefix, "drive_c", filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/")))
}

// install copies src to the C: path win and removes it when the test ends.
func (w *wineEnv) install(t *testing.T, src, win string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := w.host(win)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dst) })
}

// downloads is the Windows user's Downloads folder.
func (w *wineEnv) downloads(t *testing.T) string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(w.prefix, "drive_c", "users"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "Public" {
			return `C:\users\` + e.Name() + `\Downloads`
		}
	}
	t.Fatal("the prefix has no user profile")
	return ""
}

// winApp is a Windows program running in the prefix.
type winApp struct {
	cmd  *exec.Cmd
	once sync.Once
	done chan struct{}
}

// startApp runs the Windows executable win with args until the test ends.
func (w *wineEnv) startApp(t *testing.T, win string, args ...string) *winApp {
	t.Helper()
	a := &winApp{cmd: w.cmd(append([]string{win}, args...)...), done: make(chan struct{})}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.done) }()
	t.Cleanup(a.kill)
	return a
}

func (a *winApp) kill() {
	a.once.Do(func() { a.cmd.Process.Kill(); <-a.done })
}

// exited reports whether the program has ended.
func (a *winApp) exited() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// appByExe returns the instance of appID running from exe (the newest, by
// start order of the API's list: a PID is a Windows PID the test does not
// know).
func appByExe(devs []device, appID, exe string, running bool) (apiApp, bool) {
	var found apiApp
	ok := false
	for _, d := range devs {
		for _, a := range d.Apps {
			if a.AppID == appID && strings.EqualFold(a.Exe, exe) && a.Running == running {
				found, ok = a, true
			}
		}
	}
	return found, ok
}

// windowsProcessRuns reports whether a Wine process running the Windows
// executable exe is alive (each is a Linux process whose command line
// names it).
func windowsProcessRuns(exe string) bool {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(bytes.ToLower(cmdline), bytes.ToLower([]byte(exe))) {
			return true
		}
	}
	return false
}

func randomName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// windowsAgentArgs are the flags of a Windows agent of s whose files live
// under base (a C: path).
func windowsAgentArgs(s *server, base, pipe string) []string {
	return []string{
		"--server", s.grpcAddr,
		"--enroll-secret-file", zPath(filepath.Join(s.data, "enroll-secret")),
		"--ca-file", zPath(filepath.Join(s.data, "ca.pem")),
		"--state-dir", base + `\state`, "--scan-interval", "200ms",
		"--policy-dir", base + `\policy.d`, "--status-file", base + `\status\status.json`,
		"--notify-socket", pipe,
	}
}

type apiEvent struct {
	Type    string    `json:"type"`
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	PID     int       `json:"pid"`
	Process string    `json:"process"`
	AppID   string    `json:"app_id"`
	Detail  struct {
		Enforcement struct {
			Killed []int  `json:"killed"`
			Error  string `json:"error"`
		} `json:"enforcement"`
	} `json:"detail"`
}

func (s *server) events(t *testing.T, deviceID, typ string) []apiEvent {
	t.Helper()
	var evs []apiEvent
	cursor := ""
	for {
		var page struct {
			Events     []apiEvent `json:"events"`
			NextCursor string     `json:"next_cursor"`
		}
		q := "/api/v1/events?limit=1000&device=" + url.QueryEscape(deviceID) + "&cursor=" + url.QueryEscape(cursor)
		if typ != "" {
			q += "&type=" + url.QueryEscape(typ)
		}
		if code := s.api(t, http.MethodGet, q, nil, &page); code != http.StatusOK {
			t.Fatalf("GET %s: status %d", q, code)
		}
		evs = append(evs, page.Events...)
		if page.NextCursor == "" {
			return evs
		}
		cursor = page.NextCursor
	}
}

// TestWineAgent: the Windows agent enrolls to the Linux server and reports
// a genuine Zoom (signed, in Program Files) and a look-alike (unsigned, in
// Downloads) with their verdicts, tells the employee's notifier over the
// named pipe, reports an app that stops, applies a policy pushed from the
// server, closes a blocked app's process tree, and delivers exactly once
// what it recorded while the server was down. In steady state its log
// holds no stream error.
func TestWineAgent(t *testing.T) {
	w := wineSetup(t)
	s := newServer(t)
	tmp := t.TempDir()
	base := `C:\vcguard-e2e\` + randomName(t)
	t.Cleanup(func() { os.RemoveAll(w.host(base)) })
	pipe := `\\.\pipe\vcguard-e2e-` + randomName(t)
	agentLog := filepath.Join(tmp, "agent.log")
	startCmd(t, "vcguard-agent.exe", agentLog, w.cmd(append([]string{w.exe("vcguard-agent.exe"), "run"}, windowsAgentArgs(s, base, pipe)...)...))
	waitFor(t, 60*time.Second, "the Windows agent online with policy 1", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].Online && devs[0].PolicyVersion == 1
	})
	dev := s.devices(t)[0]
	if dev.OS != "windows" || !strings.Contains(dev.OSVersion, "Windows 10") || !strings.Contains(dev.OSVersion, "22H2") {
		t.Errorf("device os %q, version %q; want windows, Windows 10 22H2 (the prefix's)", dev.OS, dev.OSVersion)
	}
	t.Logf("device %s: %s %s", dev.ID, dev.OS, dev.OSVersion)
	logText := func() string { data, _ := os.ReadFile(agentLog); return string(data) }

	// The employee's notifier, with notices written as lines (Wine has no
	// toast notifications; the toast itself is not shown here).
	notices := filepath.Join(tmp, "notices.log")
	startCmd(t, "notifier", notices, w.cmd(w.exe("vcguard-agent.exe"), "notifier", "--socket", pipe, "--display", "lines"))
	waitFor(t, 30*time.Second, "the notifier connected over the named pipe", func() bool {
		return strings.Contains(logText(), "ipc: notifier connected")
	})

	genuineExe := `C:\Program Files\Zoom\bin\Zoom.exe`
	lookalikeExe := w.downloads(t) + `\Zoom.exe`
	w.install(t, w.signed, genuineExe)
	w.install(t, w.unsigned, lookalikeExe)
	genuine := w.startApp(t, genuineExe)
	lookalike := w.startApp(t, lookalikeExe)
	var g, f apiApp
	waitFor(t, 30*time.Second, "both Zoom.exe reported", func() bool {
		devs := s.devices(t)
		var ok1, ok2 bool
		g, ok1 = appByExe(devs, "zoom", genuineExe, true)
		f, ok2 = appByExe(devs, "zoom", lookalikeExe, true)
		return ok1 && ok2
	})
	t.Logf("genuine: %+v", g)
	t.Logf("look-alike: %+v", f)
	if !g.Verified || g.Verdict != "restricted" {
		t.Errorf("genuine Zoom.exe = %+v; want verified (signed by the catalog's publisher) and restricted (eu-default)", g)
	}
	if f.Verified || f.Verdict != "unverified" || !strings.Contains(f.Identity, "no embedded Authenticode signature") {
		t.Errorf("look-alike Zoom.exe = %+v; want unverified, saying it has no signature", f)
	}
	// Both notices reach the notifier through the pipe, in the session's
	// language (English here).
	waitFor(t, 20*time.Second, "both notices at the notifier", func() bool {
		data, _ := os.ReadFile(notices)
		return bytes.Contains(data, []byte(`"Title":"Not the genuine app: Zoom Workplace"`)) &&
			bytes.Contains(data, []byte(`"Title":"Zoom Workplace: allowed with restrictions"`))
	})

	// Stopping the genuine one is reported.
	genuine.kill()
	waitFor(t, 20*time.Second, "the genuine Zoom reported stopped", func() bool {
		_, running := appByExe(s.devices(t), "zoom", genuineExe, true)
		_, stopped := appByExe(s.devices(t), "zoom", genuineExe, false)
		return !running && stopped
	})
	lookalike.kill()

	// Offline: what happens while the server is down arrives once it is
	// back, exactly once.
	streamErrors := strings.Count(logText(), "stream to server ended")
	if streamErrors != 0 {
		t.Errorf("the agent's log has %d stream errors in steady state:\n%s", streamErrors, logText())
	}
	s.proc.stop(t)
	down := time.Now()
	offline := w.startApp(t, lookalikeExe)
	time.Sleep(2 * time.Second) // several polls of 200 ms
	offline.kill()
	time.Sleep(time.Second)
	up := time.Now()
	restarted, err := tryStartServer(t, s.data, s.grpcAddr, s.httpAddr)
	if err != nil {
		t.Fatalf("restart the server on its ports: %v", err)
	}
	s = restarted
	var started, stopped []apiEvent
	waitFor(t, 60*time.Second, "the events recorded offline delivered", func() bool {
		started, stopped = nil, nil
		for _, e := range s.events(t, dev.ID, "") {
			if e.AppID != "zoom" || e.Time.Before(down) || e.Time.After(up) {
				continue
			}
			switch e.Type {
			case "app_started":
				started = append(started, e)
			case "app_stopped":
				stopped = append(stopped, e)
			}
		}
		return len(started) > 0 && len(stopped) > 0
	})
	time.Sleep(2 * time.Second) // a duplicate would arrive by now
	all := s.events(t, dev.ID, "")
	seqs := map[uint64]int{}
	for _, e := range all {
		seqs[e.Seq]++
		if seqs[e.Seq] > 1 {
			t.Errorf("event seq %d stored %d times", e.Seq, seqs[e.Seq])
		}
	}
	// The instance started offline: started once, stopped once.
	started, stopped = nil, nil
	for _, e := range all {
		if e.AppID == "zoom" && e.Type == "app_started" && !e.Time.Before(down) && !e.Time.After(up) {
			started = append(started, e)
		}
	}
	if len(started) != 1 {
		t.Fatalf("offline window: %d app_started of zoom, want exactly 1: %+v", len(started), started)
	}
	for _, e := range all {
		if e.Type == "app_stopped" && e.PID == started[0].PID {
			stopped = append(stopped, e)
		}
	}
	if len(stopped) != 1 {
		t.Errorf("the instance started offline (pid %d) stopped %d times, want exactly once: %+v", started[0].PID, len(stopped), stopped)
	}
	waitFor(t, 30*time.Second, "the agent online again", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].Online
	})
	reconnected := strings.Count(logText(), "stream to server ended")

	// A policy pushed from the server is applied: Zoom forbidden and
	// blocked. A started Zoom and the meeting host it starts are closed.
	doc := []byte("name: Block Zoom\napps:\n  zoom: {status: forbidden, alternative: jitsi-meet}\n  jitsi-meet: {status: approved}\nactions: {forbidden: block, block_grace: 1s}\n")
	var pub struct {
		Version uint64 `json:"version"`
	}
	if code := s.api(t, http.MethodPost, "/api/v1/policies?comment=e2e", doc, &pub); code != http.StatusCreated {
		t.Fatalf("publish: %d", code)
	}
	waitFor(t, 30*time.Second, "the agent on the pushed policy", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].PolicyVersion == pub.Version
	})
	hostExe := `C:\Program Files\Zoom\bin\CptHost.exe`
	w.install(t, w.signed, hostExe)
	blocked := w.startApp(t, genuineExe, "-child", hostExe)
	waitFor(t, 20*time.Second, "the meeting host started by Zoom", func() bool { return windowsProcessRuns(`Zoom\bin\CptHost.exe`) })
	waitFor(t, 30*time.Second, "the blocked Zoom closed", blocked.exited)
	waitFor(t, 10*time.Second, "its meeting host closed with it", func() bool { return !windowsProcessRuns(`Zoom\bin\CptHost.exe`) })
	var blockedEvents []apiEvent
	waitFor(t, 20*time.Second, "the app_blocked event", func() bool {
		blockedEvents = s.events(t, dev.ID, "app_blocked")
		return len(blockedEvents) > 0
	})
	if e := blockedEvents[0]; e.AppID != "zoom" || len(e.Detail.Enforcement.Killed) != 2 || e.Detail.Enforcement.Error != "" {
		t.Errorf("app_blocked = %+v; want zoom with its meeting host killed (2 processes), no error", e)
	}

	// Steady state again: no new stream error since the reconnection, and
	// never an outbox failure (the rename that Windows refused).
	time.Sleep(time.Second)
	log := logText()
	if n := strings.Count(log, "stream to server ended"); n != reconnected {
		t.Errorf("%d new stream errors after the server came back:\n%s", n-reconnected, log)
	}
	for _, bad := range []string{"Sharing violation", "outbox:", "level=ERROR"} {
		if strings.Contains(log, bad) {
			t.Errorf("the agent's log has %q:\n%s", bad, log)
		}
	}
}

// TestWineService: install, start, status, stop and uninstall through
// Wine's service control manager, checked with sc and the registry as on
// Windows; the service enrolls and reports.
func TestWineService(t *testing.T) {
	w := wineSetup(t)
	s := newServer(t)
	base := `C:\vcguard-e2e\` + randomName(t)
	t.Cleanup(func() { os.RemoveAll(w.host(base)) })
	exe := base + `\bin\vcguard-agent.exe`
	w.install(t, filepath.Join(w.bin, "vcguard-agent.exe"), exe)
	logFile := base + `\agent.log`
	args := append(windowsAgentArgs(s, base, `\\.\pipe\vcguard-e2e-`+randomName(t)), "--log-file", logFile)
	run := func(args ...string) (string, error) {
		out, err := w.cmd(args...).CombinedOutput()
		return string(out), err
	}
	sc := func(args ...string) (string, error) { return run(append([]string{"sc"}, args...)...) }
	t.Cleanup(func() {
		run(exe, "stop")
		run(exe, "uninstall")
		if t.Failed() {
			data, _ := os.ReadFile(w.host(logFile))
			t.Logf("--- service log ---\n%s", data)
		}
	})

	out, err := run(append([]string{exe, "install"}, args...)...)
	if err != nil || !strings.Contains(out, "service install: done") {
		t.Fatalf("install: %v\n%s", err, out)
	}
	if strings.Contains(out, "recovery actions") {
		// Wine 8's service manager takes SERVICE_CONFIG_FAILURE_ACTIONS but
		// refuses SERVICE_CONFIG_FAILURE_ACTIONS_FLAG (ERROR_INVALID_LEVEL),
		// cannot query either ("fixme:service:QueryServiceConfig2W Level 2
		// not implemented") and its sc has no qfailure: recovery actions
		// cannot be seen here. On Windows, sc qfailure lists them.
		if !strings.Contains(out, "Invalid level") {
			t.Errorf("install warned about recovery actions for a reason other than Wine's missing level: %s", out)
		}
		t.Logf("Wine limitation: %s", strings.TrimSpace(out))
	} else {
		q, err := sc("qfailure", serviceNameForTest)
		if err != nil || !strings.Contains(q, "RESTART") {
			t.Errorf("sc qfailure: %v\n%s; want restart actions", err, q)
		}
	}
	// sc qc is not in Wine 8's sc; the service's configuration is in the
	// registry, where sc qc reads it on Windows.
	reg, err := run("reg", "query", `HKLM\System\CurrentControlSet\Services\`+serviceNameForTest, "/v", "ImagePath")
	if err != nil || !strings.Contains(reg, exe+" run --service") || !strings.Contains(reg, "--log-file="+logFile) || !strings.Contains(reg, `--state-dir=`+base+`\state`) {
		t.Errorf("service command line: %v\n%s\nwant %s run --service with the install flags", err, reg, exe)
	}
	state := func() string {
		q, _ := sc("query", serviceNameForTest)
		for _, line := range strings.Split(q, "\n") {
			if f := strings.Fields(line); len(f) >= 4 && f[0] == "STATE" {
				return f[3]
			}
		}
		return "(none)\n" + q
	}
	if st := state(); st != "STOPPED" {
		t.Errorf("after install: state %s, want STOPPED", st)
	}

	if out, err := run(exe, "start"); err != nil || !strings.Contains(out, "service start: done") {
		t.Fatalf("start: %v\n%s", err, out)
	}
	if st := state(); st != "RUNNING" {
		t.Errorf("after start: state %s, want RUNNING", st)
	}
	waitFor(t, 60*time.Second, "the service's agent enrolled and online", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].Online && devs[0].OS == "windows"
	})
	status, err := run(exe, "status", "--state-dir", base+`\state`, "--status-file", base+`\status\status.json`)
	if err != nil || !strings.Contains(status, "Service:     vcguard-agent running") || !strings.Contains(status, "Device:") {
		t.Errorf("status: %v\n%s", err, status)
	}

	if out, err := run(exe, "stop"); err != nil || !strings.Contains(out, "service stop: done") {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	if st := state(); st != "STOPPED" {
		t.Errorf("after stop: state %s, want STOPPED", st)
	}
	q, _ := sc("query", serviceNameForTest)
	if !strings.Contains(q, "WIN32_EXIT_CODE    : 0") {
		t.Errorf("after stop: %s; want exit code 0", q)
	}
	log, _ := os.ReadFile(w.host(logFile))
	if !bytes.Contains(log, []byte("vcguard-agent running")) {
		t.Errorf("the service's log file %s has no start line:\n%s", logFile, log)
	}

	if out, err := run(exe, "uninstall"); err != nil || !strings.Contains(out, "service uninstall: done") {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	if q, err := sc("query", serviceNameForTest); err == nil {
		t.Errorf("after uninstall sc query still finds it:\n%s", q)
	} else {
		t.Logf("after uninstall: sc query: %v %s", err, strconv.Quote(strings.TrimSpace(q)))
	}
}

const serviceNameForTest = "vcguard-agent"
