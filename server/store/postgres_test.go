package store_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
)

// postgresEnv names the PostgreSQL server the tests use, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. Each test works
// in a schema of its own, dropped when it ends.
const postgresEnv = "VCGUARD_TEST_POSTGRES"

func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Skipf("%s is not set: set it to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL store tests", postgresEnv)
	}
	return dsn
}

// withParam adds a run-time parameter to a postgres:// URL or a key=value
// connection string.
func withParam(t *testing.T, dsn, key, value string) string {
	t.Helper()
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + key + "=" + value
}

// newSchema creates an empty schema that is dropped when the test ends and
// returns a DSN whose connections work in it.
func newSchema(t *testing.T) string {
	t.Helper()
	base := postgresDSN(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "t_" + strings.ToLower(rand.Text()[:16])
	if _, err := admin.ExecContext(t.Context(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create test schema in %s: %v", postgresEnv, err)
	}
	t.Cleanup(func() {
		// t.Context is already done here.
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	return withParam(t, base, "search_path", schema)
}

func openPostgres(t *testing.T) *store.Store {
	t.Helper()
	dsn := newSchema(t)
	s, err := store.OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPostgres runs the backend-independent suite on PostgreSQL.
func TestPostgres(t *testing.T) {
	t.Parallel()
	postgresDSN(t)
	runSuite(t, openPostgres)
}

// Two replicas on one database: they migrate at the same time, publish
// policies and ingest one device's events concurrently.
func TestPostgresReplicas(t *testing.T) {
	t.Parallel()
	dsn := newSchema(t)
	ctx := t.Context()

	var replicas [2]*store.Store
	var wg sync.WaitGroup
	var errs [2]error
	for i := range replicas {
		wg.Go(func() { replicas[i], errs[i] = store.OpenPostgres(ctx, dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: OpenPostgres: %v", i, err)
		}
		t.Cleanup(func() { replicas[i].Close() })
	}
	// Each migration was applied once.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var applied []int64
	rows, err := db.QueryContext(ctx, `SELECT version_id FROM goose_db_version WHERE version_id > 0 ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		applied = append(applied, v)
	}
	rows.Close()
	files, err := filepath.Glob("migrations/postgres/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	// The versions are the files' numbers (parallel work may leave a gap
	// until every branch is merged).
	var want []int64
	for _, f := range files {
		var v int64
		if _, err := fmt.Sscanf(filepath.Base(f), "%05d_", &v); err != nil {
			t.Fatalf("migration file %s: %v", f, err)
		}
		want = append(want, v)
	}
	if !slices.Equal(applied, want) {
		t.Errorf("migrations applied = %v, want %v once each", applied, want)
	}

	// 8 publishers, alternating between the replicas.
	const workers, each = 8, 5
	var mu sync.Mutex
	var versions []uint64
	for w := range workers {
		s := replicas[w%2]
		wg.Go(func() {
			for i := range each {
				p, err := s.PublishPolicy(ctx, store.NewPolicy{Name: fmt.Sprintf("w%d-%d", w, i), Document: fmt.Appendf(nil, "doc %d-%d", w, i), By: "test", At: time.Now()},
					func(v uint64, d []byte) []byte { return fmt.Appendf(nil, "%d", v) }, change("policy_publish"))
				if err != nil {
					t.Errorf("replica %d: PublishPolicy: %v", w%2, err)
					continue
				}
				mu.Lock()
				versions = append(versions, p.Version)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(versions)
	for i, v := range versions {
		if v != uint64(i+1) {
			t.Fatalf("versions = %v, want 1..%d each once", versions, workers*each)
		}
	}
	if len(versions) != workers*each {
		t.Fatalf("%d versions published, want %d", len(versions), workers*each)
	}

	// One device's overlapping batches through both replicas (a reconnect
	// while the old stream still writes) apply one after the other.
	newDevice(t, replicas[0], "dev-1", "one")
	var batch []*vcguardv1.Event
	for i := range 50 {
		batch = append(batch, policyApplied(uint64(i+1), at(time.Duration(i)*time.Second), uint64(i+1)))
	}
	for w := range workers {
		s := replicas[w%2]
		wg.Go(func() {
			if _, err := s.IngestEvents(ctx, "dev-1", batch[:10+5*w], at(time.Hour)); err != nil {
				t.Errorf("replica %d: IngestEvents: %v", w%2, err)
			}
		})
	}
	wg.Wait()
	d, err := replicas[1].Device(ctx, "dev-1")
	if err != nil {
		t.Fatal(err)
	}
	last := uint64(10 + 5*(workers-1))
	if d.LastSeq != last || d.PolicyVersion != last {
		t.Errorf("after concurrent batches: last seq %d, policy version %d; want %d", d.LastSeq, d.PolicyVersion, last)
	}
	if got := eventKeys(t, replicas[0]); len(got) != int(last) {
		t.Errorf("%d events stored, want %d", len(got), last)
	}
}

// Re-opening migrates nothing and keeps the data.
func TestPostgresReopen(t *testing.T) {
	t.Parallel()
	dsn := newSchema(t)
	ctx := t.Context()
	s, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIToken(ctx, store.APIToken{ID: "tok_1", Hash: hash("t"), Role: store.RoleAdmin, Created: at(0)}, change("token_create")); err != nil {
		t.Fatal(err)
	}
	newDevice(t, s, "dev-1", "one")
	ingest(t, s, "dev-1", at(time.Second), policyApplied(1, at(time.Second), 1))
	s.Close()
	for i := range 2 {
		s, err := store.OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatalf("re-open %d: %v", i+1, err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Error(err)
		}
		if tok, err := s.APITokenByHash(ctx, hash("t")); err != nil || tok.ID != "tok_1" {
			t.Errorf("re-open %d: token = %+v, %v", i+1, tok, err)
		}
		if d, err := s.Device(ctx, "dev-1"); err != nil || d.LastSeq != 1 || d.PolicyVersion != 1 {
			t.Errorf("re-open %d: device = %+v, %v", i+1, d, err)
		}
		s.Close()
	}
}

// Errors name the server and never show the password. These need no
// PostgreSQL server.
func TestOpenPostgresErrors(t *testing.T) {
	t.Parallel()
	const password = "s3cr3t-pw"
	tests := []struct {
		name string
		dsn  string
		want string // in the message
	}{
		{"refused", "postgres://vcguard:" + password + "@127.0.0.1:1/fleet?sslmode=disable&connect_timeout=5", "vcguard@127.0.0.1:1/fleet"},
		{"refused key=value", "host=127.0.0.1 port=1 user=vcguard password=" + password + " dbname=fleet sslmode=disable connect_timeout=5", "vcguard@127.0.0.1:1/fleet"},
		{"malformed URL", "postgres://vcguard:" + password + "@127.0.0.1:port/fleet", "parse connection string"},
		{"unknown sslmode", "postgres://vcguard:" + password + "@db.example:5432/fleet?sslmode=sometimes", "parse connection string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := store.OpenPostgres(t.Context(), tt.dsn)
			if err == nil {
				s.Close()
				t.Fatal("OpenPostgres succeeded")
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// A search_path naming no schema is refused before migrating, and says so.
func TestOpenPostgresNoSchema(t *testing.T) {
	t.Parallel()
	dsn := withParam(t, postgresDSN(t), "search_path", "t_missing_"+hex.EncodeToString([]byte(rand.Text()[:6])))
	s, err := store.OpenPostgres(t.Context(), dsn)
	if err == nil {
		s.Close()
		t.Fatal("OpenPostgres succeeded without a schema")
	}
	if !strings.Contains(err.Error(), "search_path") {
		t.Errorf("error %q does not mention search_path", err)
	}
}
