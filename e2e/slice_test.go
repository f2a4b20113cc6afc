package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAppLifecycle is the foundation's slice: a catalog app starts on the
// laptop, the administrator sees it running with its verdict, and sees it
// stopped after it ends.
func TestAppLifecycle(t *testing.T) {
	s := newServer(t)
	stateDir := filepath.Join(t.TempDir(), "agent")
	startAgent(t, s, stateDir)

	waitFor(t, 15*time.Second, "the agent to enroll and come online with policy 1", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].Online && devs[0].PolicyVersion == 1
	})
	host, _ := os.Hostname()
	if d := s.devices(t)[0]; d.Hostname != host || d.OS != "linux" {
		t.Errorf("device = %+v, want hostname %q and os linux", d, host)
	}

	zoom := startGenuineZoom(t)
	waitFor(t, 10*time.Second, "zoom to be reported running", func() bool {
		found, running, _ := appState(s.devices(t), "zoom", zoom.pid())
		return found && running
	})
	if app, _ := appOf(s.devices(t), "zoom", zoom.pid()); app.Verdict != "restricted" || !app.Verified || app.Exe != "/opt/zoom/zoom" {
		t.Errorf("zoom = %+v, want verified, restricted (European default policy), exe /opt/zoom/zoom", app)
	}

	zoom.stop()
	waitFor(t, 10*time.Second, "zoom to be reported stopped", func() bool {
		found, running, _ := appState(s.devices(t), "zoom", zoom.pid())
		return found && !running
	})

	// The events tell the same story, in order.
	var events []struct {
		Type  string `json:"type"`
		PID   int    `json:"pid"`
		AppID string `json:"app_id"`
	}
	devID := s.devices(t)[0].ID
	if code := s.apiEvents(t, "/api/v1/events?device="+devID, &events); code != http.StatusOK {
		t.Fatalf("GET events: %d", code)
	}
	var seq []string
	for i := len(events) - 1; i >= 0; i-- { // oldest first
		if events[i].AppID == "zoom" && events[i].PID == zoom.pid() {
			seq = append(seq, events[i].Type)
		}
	}
	if strings.Join(seq, ",") != "app_started,app_stopped" {
		t.Errorf("zoom events = %v, want [app_started app_stopped]", seq)
	}
}

// TestPolicyPush publishes a policy and sees the connected agent apply it
// and re-judge the running app.
func TestPolicyPush(t *testing.T) {
	s := newServer(t)
	stateDir := filepath.Join(t.TempDir(), "agent")
	startAgent(t, s, stateDir)
	zoom := startGenuineZoom(t)
	waitFor(t, 15*time.Second, "zoom running under policy 1", func() bool {
		found, running, _ := appState(s.devices(t), "zoom", zoom.pid())
		return found && running && s.devices(t)[0].PolicyVersion == 1
	})

	doc := []byte("name: Strict\napps:\n  jitsi-meet:\n    status: approved\n  zoom:\n    status: forbidden\n    alternative: jitsi-meet\n")
	var published struct {
		Version uint64 `json:"version"`
	}
	start := time.Now()
	if code := s.api(t, http.MethodPost, "/api/v1/policies?comment=e2e", doc, &published); code != http.StatusCreated {
		t.Fatalf("POST /api/v1/policies: status %d", code)
	}
	if published.Version != 2 {
		t.Fatalf("published version %d, want 2", published.Version)
	}
	waitFor(t, 10*time.Second, "the agent to apply policy 2 and judge zoom forbidden", func() bool {
		devs := s.devices(t)
		_, _, verdict := appState(devs, "zoom", zoom.pid())
		return devs[0].PolicyVersion == 2 && verdict == "forbidden"
	})
	t.Logf("policy publish → applied and reported back: %s (includes 50 ms polling)", time.Since(start).Round(time.Millisecond))

	// A broken policy is refused with its line, and version 2 stays.
	if code := s.api(t, http.MethodPost, "/api/v1/policies?comment=e2e", []byte("name: x\napps:\n  zoom:\n    status: maybe\n"), nil); code != http.StatusBadRequest {
		t.Errorf("broken policy: status %d, want 400", code)
	}
	var cur struct {
		Version uint64 `json:"version"`
	}
	s.api(t, http.MethodGet, "/api/v1/policies/current", nil, &cur)
	if cur.Version != 2 {
		t.Errorf("current policy version %d after a refused publish, want 2", cur.Version)
	}
}

// TestOfflineEventsDelivered stops the server, starts an app while the agent
// is offline, restarts the server and sees the event arrive.
func TestOfflineEventsDelivered(t *testing.T) {
	s := newServer(t)
	stateDir := filepath.Join(t.TempDir(), "agent")
	startAgent(t, s, stateDir)
	waitFor(t, 15*time.Second, "the agent online", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].Online
	})
	s.stop(t)

	zoom := startFakeApp(t, "zoom")
	time.Sleep(time.Second) // several scans while the server is down
	zoom.stop()
	time.Sleep(500 * time.Millisecond)

	s2 := startServer(t, s.data, s.grpcAddr, s.httpAddr)
	waitFor(t, 30*time.Second, "the offline start and stop of the look-alike zoom to arrive", func() bool {
		found, running, _ := appState(s2.devices(t), "zoom", zoom.pid())
		return found && !running
	})
}

// TestEnrollWrongSecret: a wrong enrollment secret is refused with a
// message that says so, and no device appears.
func TestEnrollWrongSecret(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("vcg_enroll_not-the-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := runCmd(ctx, "vcguard-agent", "enroll", "--server", s.grpcAddr, "--enroll-secret-file", secret,
		"--ca-file", filepath.Join(s.data, "ca.pem"), "--state-dir", filepath.Join(dir, "state"))
	if err == nil {
		t.Fatalf("enroll with a wrong secret succeeded:\n%s", out)
	}
	if !strings.Contains(out, "refused the enrollment secret") {
		t.Errorf("output does not say the secret was refused:\n%s", out)
	}
	if devs := s.devices(t); len(devs) != 0 {
		t.Errorf("%d devices after a refused enrollment, want 0", len(devs))
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "identity.json")); err == nil {
		t.Error("a refused enrollment left an identity behind")
	}
}

// TestEnrollWrongCA: an agent given another CA does not trust the server
// and says so; the secret is never sent to an untrusted server.
func TestEnrollWrongCA(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	otherCA := filepath.Join(dir, "other-ca.pem")
	if err := os.WriteFile(otherCA, selfSignedCA(t), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := runCmd(ctx, "vcguard-agent", "enroll", "--server", s.grpcAddr, "--enroll-secret-file", filepath.Join(s.data, "enroll-secret"),
		"--ca-file", otherCA, "--state-dir", filepath.Join(dir, "state"))
	if err == nil {
		t.Fatalf("enroll with a wrong CA succeeded:\n%s", out)
	}
	if !strings.Contains(out, "is not trusted") || !strings.Contains(out, otherCA) {
		t.Errorf("output does not explain the untrusted server and name the CA file:\n%s", out)
	}
	if devs := s.devices(t); len(devs) != 0 {
		t.Errorf("%d devices after a refused enrollment, want 0", len(devs))
	}
}

// TestAPIRequiresToken: the JSON API answers 401 without a valid token.
func TestAPIRequiresToken(t *testing.T) {
	s := newServer(t)
	for _, token := range []string{"", "vcg_admin_wrong"} {
		req, _ := http.NewRequest(http.MethodGet, "https://"+s.httpAddr+"/api/v1/devices", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("token %q: status %d, want 401", token, resp.StatusCode)
		}
	}
}

// TestFirstStartFiles: the secrets a fresh server writes are owner-only.
// The CA and policy keys live in the database (shared by replicas), not in
// files.
func TestFirstStartFiles(t *testing.T) {
	s := newServer(t)
	for _, name := range []string{"ca-key.pem", "policy-key.pem"} {
		if _, err := os.Stat(filepath.Join(s.data, name)); err == nil {
			t.Errorf("%s written: the key belongs in the database", name)
		}
	}
	for _, name := range []string{"enroll-secret", "admin-token", "server-key.pem", "vcguard.db"} {
		fi, err := os.Stat(filepath.Join(s.data, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	if _, err := os.Stat(filepath.Join(s.data, "ca.pem")); err != nil {
		t.Errorf("ca.pem: %v", err)
	}
}

func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "someone else's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
