package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// The tool the published catalog adds: a copy of sleep under its
// executable name is the "app".
const (
	catalogToolID  = "zz-e2e-tool"
	catalogToolExe = "vcgcattool"
)

// writeCatalogDir lays out a catalog directory as `vcguardctl catalog
// publish` reads it: the built-in entries, one new tool, VERSION.
func writeCatalogDir(t *testing.T, version uint64) string {
	t.Helper()
	b, err := policies.EmbeddedCatalogBundle()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		policies.CatalogVersionFile: fmt.Sprintf("%d\n", version),
		catalogToolID + ".yaml": "app_id: " + catalogToolID + "\nname: E2E Tool\nvendor: Test\ncategory: browser\n" +
			"identify:\n  linux:\n    executables: [" + catalogToolExe + "]\n",
	}
	for _, f := range b.Files {
		files[f.Name] = f.Content
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// ctl runs vcguardctl against s with its admin token.
func (s *server) ctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return runCmd(ctx, "vcguardctl", append([]string{"--server", "https://" + s.httpAddr, "--cacert", filepath.Join(s.data, "ca.pem"),
		"--token-file", filepath.Join(s.data, "admin-token")}, args...)...)
}

// catalogVersion is the catalog version GET /api/v1/devices/{id} shows.
func (s *server) catalogVersion(t *testing.T, id string) uint64 {
	t.Helper()
	var d struct {
		CatalogVersion uint64 `json:"catalog_version"`
	}
	if code := s.api(t, http.MethodGet, "/api/v1/devices/"+id, nil, &d); code != http.StatusOK {
		t.Fatalf("GET device %s: status %d", id, code)
	}
	return d.CatalogVersion
}

// agentCatalog is the catalog the agent's status file says it uses.
func agentCatalog(t *testing.T, stateDir string) (uint64, bool) {
	t.Helper()
	data, err := os.ReadFile(stateDir + "-status.json")
	if err != nil {
		return 0, false
	}
	var st struct {
		Catalog struct {
			Version    uint64 `json:"version"`
			FromServer bool   `json:"from_server"`
		} `json:"catalog"`
	}
	if json.Unmarshal(data, &st) != nil {
		return 0, false
	}
	return st.Catalog.Version, st.Catalog.FromServer
}

// TestCatalogUpdate: a catalog version published with vcguardctl reaches a
// connected agent over its stream, which caches it and recognises the new
// tool; a restarted agent uses the cached version; a version not above the
// current one is refused; a cached catalog whose signature no longer
// verifies is refused at start and the server sends the current one again;
// the device's version is visible in the API. On SQLite, and on PostgreSQL
// with the agent on one replica and the catalog published on the other.
func TestCatalogUpdate(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		testCatalogUpdate(t, s, s)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := postgresSchema(t)
		root := t.TempDir()
		a := newServerIn(t, root, "a", "--db", dsn)
		b := newServerIn(t, root, "b", "--db", dsn)
		testCatalogUpdate(t, a, b)
	})
}

// testCatalogUpdate runs the agent against s and publishes on pub (s
// itself, or another replica).
func testCatalogUpdate(t *testing.T, s, pub *server) {
	embedded, err := policies.EmbeddedCatalogVersion()
	if err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(t.TempDir(), "agent")
	agent := startAgent(t, s, stateDir)
	var id string
	waitFor(t, 30*time.Second, "the agent to connect and report the built-in catalog", func() bool {
		devs := s.devices(t)
		if len(devs) == 1 && devs[0].Online {
			id = devs[0].ID
			return s.catalogVersion(t, id) == embedded
		}
		return false
	})

	// The server holds the built-in catalog as the current version: the
	// same number again is refused, and nothing reaches the agent.
	if out, err := pub.ctl(t, "catalog", "publish", writeCatalogDir(t, embedded)); err == nil ||
		!strings.Contains(out, fmt.Sprintf("version %d, the current one is %d", embedded, embedded)) {
		t.Fatalf("publishing version %d again: %v\n%s", embedded, err, out)
	}
	out, err := pub.ctl(t, "catalog", "publish", writeCatalogDir(t, embedded+1))
	if err != nil || !strings.Contains(out, fmt.Sprintf("published catalog version %d", embedded+1)) {
		t.Fatalf("vcguardctl catalog publish: %v\n%s", err, out)
	}
	waitFor(t, 20*time.Second, "the agent to apply the new catalog and the server to show it", func() bool {
		v, fromServer := agentCatalog(t, stateDir)
		return v == embedded+1 && fromServer && s.catalogVersion(t, id) == embedded+1
	})
	// The agent's server validates policies against the new catalog, also
	// when another replica published it.
	doc := []byte("name: New tool\ndefault: forbidden\napps:\n  " + catalogToolID + ":\n    status: approved\n")
	waitFor(t, 10*time.Second, "the agent's server to validate a policy naming the new tool", func() bool {
		return s.api(t, http.MethodPost, "/api/v1/policies/validate", doc, nil) == http.StatusOK
	})
	cache := filepath.Join(stateDir, "catalog.json")
	fi, err := os.Stat(cache)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cached catalog has mode %v, want 0600", fi.Mode().Perm())
	}
	if out, err := pub.ctl(t, "catalog", "publish", writeCatalogDir(t, embedded)); err == nil || !strings.Contains(out, "not newer") {
		t.Fatalf("publishing an older version: %v\n%s", err, out)
	}

	// The new tool is recognised.
	tool := startFakeApp(t, catalogToolExe)
	waitFor(t, 20*time.Second, "the new tool to show up", func() bool {
		_, ok := appOf(s.devices(t), catalogToolID, tool.pid())
		return ok
	})
	tool.stop()

	// Restarted: the cached catalog is in use before anything is pushed.
	agent.stop(t)
	agent = startAgent(t, s, stateDir)
	// (The status file of the stopped agent said the same: the log tells
	// this start's.)
	waitFor(t, 20*time.Second, "the restarted agent to use the cached catalog", func() bool {
		v, fromServer := agentCatalog(t, stateDir)
		return logHas(agent.log, "catalog loaded from the cache") && logHas(agent.log, "vcguard-agent running") && v == embedded+1 && fromServer
	})
	tool2 := startFakeApp(t, catalogToolExe)
	waitFor(t, 20*time.Second, "the new tool to show up after the restart", func() bool {
		_, ok := appOf(s.devices(t), catalogToolID, tool2.pid())
		return ok
	})
	tool2.stop()

	// A cache whose signature no longer verifies is refused at start; the
	// agent says it uses the built-in catalog, and the server sends the
	// current version again.
	agent.stop(t)
	data, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	var sc vcguardv1.SignedCatalog
	if err := protojson.Unmarshal(data, &sc); err != nil {
		t.Fatal(err)
	}
	sc.Signature[0] ^= 0x80
	if data, err = protojson.Marshal(&sc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cache, data, 0o600); err != nil {
		t.Fatal(err)
	}
	agent = startAgent(t, s, stateDir)
	waitFor(t, 20*time.Second, "the agent to refuse the tampered cache and take the server's catalog again", func() bool {
		v, fromServer := agentCatalog(t, stateDir)
		// The log holds every run's lines: the first run applied the
		// pushed catalog once, this one again.
		return logHas(agent.log, "cached catalog not usable") && logCount(t, agent.log, `msg="catalog applied"`) == 2 && v == embedded+1 && fromServer
	})
	if !logHas(agent.log, "catalog signature does not verify") {
		t.Error("the agent's log does not say why the cache was refused")
	}
}

// logCount counts the lines of the log at path that contain s.
func logCount(t *testing.T, path, s string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(data), s)
}
