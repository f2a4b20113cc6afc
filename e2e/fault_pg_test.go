package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// pgBin is where Debian's PostgreSQL 15 server binaries are.
const pgBin = "/usr/lib/postgresql/15/bin"

// pgCluster is a private PostgreSQL cluster for one test: its own data
// directory and port, run as user postgres (it refuses root).
type pgCluster struct {
	dir  string
	port int
}

func (c *pgCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

func (c *pgCluster) ctl(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(pgBin, "pg_ctl"), "-D", filepath.Join(c.dir, "data")}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		t.Fatalf("pg_ctl %v: %v\n%s\n--- postgres log ---\n%s", args, err, out, log)
	}
}

// startPostgres initialises and starts a cluster; it is stopped and
// removed when the test ends.
func startPostgres(t *testing.T) *pgCluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a private PostgreSQL cluster is started as user postgres with runuser, which needs root (CI runs as root)")
	}
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		t.Skipf("PostgreSQL 15 server binaries not installed (%v)", err)
	}
	// Not under t.TempDir: its parents are private to root.
	dir, err := os.MkdirTemp("", "vcguard-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if out, err := exec.Command("chown", "postgres:", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown %s: %v\n%s", dir, err, out)
	}
	c := &pgCluster{dir: dir, port: freePort(t)}
	initdb := exec.Command("runuser", "-u", "postgres", "--", filepath.Join(pgBin, "initdb"), "-D", filepath.Join(dir, "data"),
		"-A", "trust", "-U", "postgres", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.start(t)
	t.Cleanup(func() {
		_ = exec.Command("runuser", "-u", "postgres", "--", filepath.Join(pgBin, "pg_ctl"), "-D", filepath.Join(dir, "data"), "-m", "immediate", "stop").Run()
	})
	return c
}

func (c *pgCluster) start(t *testing.T) {
	t.Helper()
	c.ctl(t, "-w", "-l", filepath.Join(c.dir, "log"), "-o",
		"-p "+strconv.Itoa(c.port)+" -c listen_addresses=127.0.0.1 -k "+c.dir+" -c max_connections=100", "start")
}

// crashRestart stops the cluster as a crash would (immediate: no
// checkpoint, connections cut) and starts it again after pause.
func (c *pgCluster) crashRestart(t *testing.T, pause time.Duration) {
	t.Helper()
	c.ctl(t, "-m", "immediate", "-w", "stop")
	time.Sleep(pause)
	c.start(t)
}

func freePort(t *testing.T) int {
	t.Helper()
	_, port, err := net.SplitHostPort(freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return n
}

// newServerWith starts a server on fresh ports with extra flags.
func newServerWith(t *testing.T, extra ...string) *server {
	t.Helper()
	root := t.TempDir()
	for attempt := 0; ; attempt++ {
		s, err := tryStartServer(t, filepath.Join(root, "data"), freeAddr(t), freeAddr(t), extra...)
		if errors.Is(err, errPortTaken) && attempt < 5 {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// TestFaultPostgresRestart: the server's PostgreSQL crashes and comes back
// twice while two agents send a steady stream; the server reconnects, and
// no acknowledged event is lost: every agent's events are stored exactly
// once.
func TestFaultPostgresRestart(t *testing.T) {
	// Not parallel: every agent sees every process of the machine, so
	// another test's churn would add events after this test's agents have
	// delivered theirs (and this churn would add to the others').
	pg := startPostgres(t)
	s := newServerWith(t, "--db", pg.url())
	dirs, procs := startFaultAgents(t, s, t.TempDir(), 2)
	c := startChurn(t, 40*time.Millisecond)
	for range 2 {
		time.Sleep(1500 * time.Millisecond)
		pg.crashRestart(t, 700*time.Millisecond)
	}
	time.Sleep(time.Second)
	finish(t, c, pg.url(), dirs, procs)
	select {
	case <-s.done:
		t.Errorf("the server exited when its database went away: %v", s.err)
	default:
	}
}
