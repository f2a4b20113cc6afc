package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// postgresEnv names the PostgreSQL server of the replica tests, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable; each test works
// in a schema of its own, dropped when it ends.
const postgresEnv = "VCGUARD_TEST_POSTGRES"

// postgresSchema creates a schema that is dropped when the test ends and
// returns a DSN whose connections work in it.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		t.Skipf("%s is not set: set it to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the replica tests", postgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "e2e_" + strings.ToLower(rand.Text()[:16])
	if _, err := admin.ExecContext(t.Context(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create test schema in %s: %v", postgresEnv, err)
	}
	// Registered after the servers' cleanups run (LIFO): drop the schema
	// once they are stopped.
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// newServerIn starts a server with its own data directory root/name on
// fresh ports and extra flags, retrying when a port is taken meanwhile.
func newServerIn(t *testing.T, root, name string, extra ...string) *server {
	t.Helper()
	for attempt := 0; ; attempt++ {
		s, err := tryStartServer(t, filepath.Join(root, name), freeAddr(t), freeAddr(t), extra...)
		if errors.Is(err, errPortTaken) && attempt < 5 {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func logHas(path, s string) bool {
	data, _ := os.ReadFile(path)
	return bytes.Contains(data, []byte(s))
}

func (s *server) device(t *testing.T, id string) device {
	t.Helper()
	var d device
	if code := s.api(t, http.MethodGet, "/api/v1/devices/"+id, nil, &d); code != http.StatusOK {
		t.Fatalf("GET /api/v1/devices/%s: status %d", id, code)
	}
	return d
}

// Two replicas on one PostgreSQL database: an agent connected to replica A
// applies a policy published on replica B within a second, and a device
// revoked on B is cut off on A at once and refused when it reconnects.
func TestReplicasPolicyAndRevocation(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	root := t.TempDir()
	a := newServerIn(t, root, "a", "--db", dsn)
	b := newServerIn(t, root, "b", "--db", dsn)

	// One CA and one policy key for both: B wrote A's CA into its data
	// directory.
	caA, _ := os.ReadFile(filepath.Join(a.data, "ca.pem"))
	caB, _ := os.ReadFile(filepath.Join(b.data, "ca.pem"))
	if len(caA) == 0 || !bytes.Equal(caA, caB) {
		t.Fatal("the replicas have different CAs")
	}

	stateDir := filepath.Join(root, "agent")
	agentLog := stateDir + "-agent.log"
	agent := startAgent(t, a, stateDir)
	var id string
	waitFor(t, 30*time.Second, "the agent to connect to replica A and apply policy 1", func() bool {
		devs := b.devices(t) // B sees A's devices: one database
		if len(devs) == 1 && devs[0].Online && devs[0].PolicyVersion == 1 {
			id = devs[0].ID
			return true
		}
		return false
	})
	if !logHas(a.log, id) || logHas(b.log, "agent connected") {
		t.Fatal("the agent is not connected to replica A alone")
	}

	// Publish on B; the agent holds its stream on A.
	doc := []byte("name: Replicated\napps:\n  jitsi-meet:\n    status: approved\n  zoom:\n    status: forbidden\n")
	var published struct {
		Version uint64 `json:"version"`
	}
	start := time.Now()
	if code := b.api(t, http.MethodPost, "/api/v1/policies?comment=e2e", doc, &published); code != http.StatusCreated {
		t.Fatalf("POST /api/v1/policies on B: status %d", code)
	}
	posted := time.Since(start)
	var applied time.Duration
	deadline := start.Add(5 * time.Second)
	for {
		if a.device(t, id).PolicyVersion == published.Version {
			applied = time.Since(start)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent on A did not apply version %d published on B within 5 s", published.Version)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("policy %d published on replica B (POST took %v) → applied by the agent on replica A (seen via A's API) after %v",
		published.Version, posted, applied)
	if applied > time.Second {
		t.Errorf("publish on B → applied via A took %v, want within 1 s", applied)
	}
	if !logHas(a.log, fmt.Sprintf("version=%d", published.Version)) {
		t.Errorf("replica A's log does not show version %d pushed", published.Version)
	}

	// Revoke on B: A cuts the stream off.
	start = time.Now()
	var revoked device
	if code := b.api(t, http.MethodPost, "/api/v1/devices/"+id+"/revoke", nil, &revoked); code != http.StatusOK {
		t.Fatalf("POST /api/v1/devices/%s/revoke on B: status %d", id, code)
	}
	waitFor(t, 5*time.Second, "replica A to cut the revoked device off", func() bool {
		return !a.device(t, id).Online && logHas(agentLog, "revoked by the administrator")
	})
	t.Logf("device revoked on replica B → stream on replica A cut and agent told after %v", time.Since(start))
	if !logHas(a.log, "device revoked: stream cut off") {
		t.Error("replica A's log does not show the stream cut off")
	}
	var devJSON struct {
		Revoked *time.Time `json:"revoked"`
	}
	a.api(t, http.MethodGet, "/api/v1/devices/"+id, nil, &devJSON)
	if devJSON.Revoked == nil {
		t.Error("the device is not shown revoked")
	}

	// A restarted agent is refused at once, on either replica.
	agent.stop(t)
	before := strings.Count(readFile(a.log), "connect refused: device revoked")
	startAgent(t, a, stateDir)
	waitFor(t, 20*time.Second, "replica A to refuse the revoked device's reconnect", func() bool {
		return strings.Count(readFile(a.log), "connect refused: device revoked") > before
	})
	if a.device(t, id).Online {
		t.Error("the revoked device is online again")
	}
}

func readFile(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

// Short-lived client certificates: with a 12 s lifetime the agent renews
// when 4 s remain, and after the first certificate expired a restarted
// agent still connects with the renewed one.
func TestClientCertificateRenewal(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := newServerIn(t, root, "data", "--client-cert-lifetime", "12s")
	stateDir := filepath.Join(root, "agent")
	agent := startAgent(t, s, stateDir)
	waitFor(t, 30*time.Second, "the agent to connect", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].Online
	})
	first := readCertFile(t, filepath.Join(stateDir, "client.pem"))
	if life := first.NotAfter.Sub(first.NotBefore); life > 14*time.Second {
		t.Fatalf("client certificate lifetime %v, want about 12 s", life)
	}
	waitFor(t, 20*time.Second, "the agent to renew its certificate", func() bool {
		return logHas(stateDir+"-agent.log", "device certificate renewed")
	})
	renewed := readCertFile(t, filepath.Join(stateDir, "client.pem"))
	if !renewed.NotAfter.After(first.NotAfter) || renewed.Subject.CommonName != first.Subject.CommonName {
		t.Fatalf("renewed certificate %s until %v; first %s until %v", renewed.Subject.CommonName, renewed.NotAfter,
			first.Subject.CommonName, first.NotAfter)
	}
	if info, err := os.Stat(filepath.Join(stateDir, "client.pem")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("client.pem mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	// Past the first certificate's end, a fresh connection presents the
	// renewed one and is accepted.
	time.Sleep(time.Until(first.NotAfter.Add(500 * time.Millisecond)))
	agent.stop(t)
	log := stateDir + "-agent.log"
	connects := strings.Count(readFile(log), "connected to server")
	startAgent(t, s, stateDir)
	waitFor(t, 20*time.Second, "the restarted agent to connect with the renewed certificate", func() bool {
		return strings.Count(readFile(log), "connected to server") > connects
	})
}

func readCertFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
