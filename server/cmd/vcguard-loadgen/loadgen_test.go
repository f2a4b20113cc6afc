package main

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"fmt"
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

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// These tests run the real vcguard-server and vcguard-loadgen binaries (built
// without -race: the load, not the race detector, is what is measured).

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds vcguard-server and vcguard-loadgen once per test binary.
func binaries(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("load runs are skipped with -short")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vcguard-loadgen-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator),
			"github.com/vcguard/vcguard/server/cmd/vcguard-server", "github.com/vcguard/vcguard/server/cmd/vcguard-loadgen")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// testServer is a running vcguard-server.
type testServer struct {
	cmd              *exec.Cmd
	data, grpc, http string
	log              string
	done             chan struct{}
}

// startServer starts vcguard-server on a new data directory and free ports
// (retried when a port is taken before the server binds it), with Enroll
// unthrottled, and waits for /healthz.
func startServer(t *testing.T, bin string, extra ...string) *testServer {
	t.Helper()
	root := t.TempDir()
	for attempt := 0; ; attempt++ {
		s := &testServer{data: filepath.Join(root, fmt.Sprint("data", attempt)), grpc: freeAddr(t), http: freeAddr(t),
			log: filepath.Join(root, fmt.Sprint("server", attempt, ".log")), done: make(chan struct{})}
		f, err := os.Create(s.log)
		if err != nil {
			t.Fatal(err)
		}
		args := append([]string{"--data", s.data, "--grpc-addr", s.grpc, "--http-addr", s.http,
			"--enroll-rate-per-addr", "100000/100000", "--enroll-rate-per-secret", "100000/100000"}, extra...)
		s.cmd = exec.Command(filepath.Join(bin, "vcguard-server"), args...)
		s.cmd.Stdout, s.cmd.Stderr = f, f
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { s.cmd.Wait(); f.Close(); close(s.done) }()
		t.Cleanup(func() { s.stop(t) })
		if s.waitHealthy(t) {
			return s
		}
		log, _ := os.ReadFile(s.log)
		if bytes.Contains(log, []byte("address already in use")) && attempt < 5 {
			continue
		}
		t.Fatalf("vcguard-server did not become healthy:\n%s", log)
	}
}

func (s *testServer) waitHealthy(t *testing.T) bool {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var client *http.Client
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return false
		default:
		}
		if client == nil {
			if caPEM, err := os.ReadFile(filepath.Join(s.data, "ca.pem")); err == nil {
				pool := x509.NewCertPool()
				if pool.AppendCertsFromPEM(caPEM) {
					client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
				}
			}
		}
		if client != nil {
			if resp, err := client.Get("https://" + s.http + "/healthz"); err == nil {
				resp.Body.Close()
				if _, err := os.Stat(filepath.Join(s.data, "admin-token")); resp.StatusCode == http.StatusOK && err == nil {
					return true
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func (s *testServer) stop(t *testing.T) {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	if t.Failed() {
		log, _ := os.ReadFile(s.log)
		if len(log) > 20000 {
			log = log[len(log)-20000:]
		}
		t.Logf("--- server log (end) ---\n%s", log)
	}
}

// loadgen runs vcguard-loadgen against s with --json and returns its report.
func loadgen(t *testing.T, bin string, s *testServer, args ...string) report {
	t.Helper()
	all := append([]string{"--server", s.grpc, "--http", s.http, "--data", s.data, "--json",
		"--server-pid", fmt.Sprint(s.cmd.Process.Pid)}, args...)
	cmd := exec.Command(filepath.Join(bin, "vcguard-loadgen"), all...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("vcguard-loadgen %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("decode the report: %v\n%s", err, stdout.Bytes())
	}
	t.Logf("vcguard-loadgen %s:\n%s", strings.Join(args, " "), stdout.Bytes())
	if t.Failed() || rep.Errors > 0 {
		t.Logf("loadgen stderr:\n%s", tail(stderr.Bytes(), 10000))
	}
	return rep
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// checkRun asserts what every load run must show: all agents connected,
// every acknowledged event stored exactly once, no errors, and the
// published policy on every stream.
func checkRun(t *testing.T, rep report, agents int, publish bool) {
	t.Helper()
	if rep.AgentsConnected != int64(agents) {
		t.Errorf("agents_connected = %d, want %d", rep.AgentsConnected, agents)
	}
	if rep.EventsAcked <= 0 || rep.EventsStored != rep.EventsAcked {
		t.Errorf("events_acked = %d, events_stored = %d (%s): want equal and above 0", rep.EventsAcked, rep.EventsStored, rep.EventsStoredSource)
	}
	if rep.Errors != 0 {
		t.Errorf("errors = %d: %v", rep.Errors, rep.ErrorKinds)
	}
	if publish && (rep.PolicyVersion == 0 || rep.PolicyReceived != int64(agents)) {
		t.Errorf("policy version %d received on %d streams, want on all %d", rep.PolicyVersion, rep.PolicyReceived, agents)
	}
	if rep.AckMS.Max <= 0 {
		t.Errorf("ack_ms = %+v: no acknowledgement was timed", rep.AckMS)
	}
}

// TestLoadSQLite holds 2,000 agents on a SQLite server for 20 s with a
// policy published half-way, then runs again with the cached identities.
func TestLoadSQLite(t *testing.T) {
	bin := binaries(t)
	s := startServer(t, bin)
	const agents = 2000
	rep := loadgen(t, bin, s, "--agents", fmt.Sprint(agents), "--duration", "20s", "--publish")
	checkRun(t, rep, agents, true)
	if rep.AgentsEnrolled != agents || rep.EnrollPerS <= 0 {
		t.Errorf("agents_enrolled = %d at %g/s, want %d", rep.AgentsEnrolled, rep.EnrollPerS, agents)
	}
	if rep.ServerRSSKiB <= 0 {
		t.Errorf("server_rss_kib = %d, want the server's memory", rep.ServerRSSKiB)
	}

	// A second run reuses the first run's devices from --state.
	again := loadgen(t, bin, s, "--agents", "100", "--duration", "3s")
	checkRun(t, again, 100, false)
	if again.AgentsReused != 100 || again.AgentsEnrolled != 0 {
		t.Errorf("second run: %d reused, %d enrolled; want the 100 cached identities reused", again.AgentsReused, again.AgentsEnrolled)
	}
	entries, err := os.ReadDir(filepath.Join(s.data, "loadgen"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries[:min(3, len(entries))] {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600 (it holds a private key)", e.Name(), info.Mode().Perm())
		}
	}
}

// TestLoadPostgres holds 200 agents for 10 s on a server using PostgreSQL
// (VCGUARD_TEST_POSTGRES), in a schema of its own.
func TestLoadPostgres(t *testing.T) {
	base := os.Getenv("VCGUARD_TEST_POSTGRES")
	if base == "" {
		t.Skip("VCGUARD_TEST_POSTGRES is not set: set it to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the load against PostgreSQL")
	}
	bin := binaries(t)
	dsn := postgresSchema(t, base)
	s := startServer(t, bin, "--db", dsn)
	rep := loadgen(t, bin, s, "--agents", "200", "--duration", "10s", "--publish")
	checkRun(t, rep, 200, true)
}

// postgresSchema creates a schema dropped when the test ends and returns a
// URL whose connections work in it.
func postgresSchema(t *testing.T, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "loadgen_" + strings.ToLower(rand.Text()[:16])
	if _, err := admin.ExecContext(t.Context(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create a test schema in VCGUARD_TEST_POSTGRES: %v", err)
	}
	// Registered before the server's cleanup, so it runs after the
	// server stopped.
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("VCGUARD_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
