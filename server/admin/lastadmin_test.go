package admin_test

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/store"
)

// postgresEnv names the PostgreSQL server the PostgreSQL tests use, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable; each test works
// in a schema of its own, dropped when it ends.
const postgresEnv = "VCGUARD_TEST_POSTGRES"

// postgresSchema creates an empty schema in the VCGUARD_TEST_POSTGRES
// database, dropped when the test ends, and returns a DSN whose
// connections work in it.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		t.Skipf("%s is not set: set it to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests", postgresEnv)
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	schema := "t_" + strings.ToLower(rand.Text()[:16])
	if _, err := db.ExecContext(t.Context(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create test schema in %s: %v", postgresEnv, err)
	}
	t.Cleanup(func() {
		// t.Context is already done here.
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return base + " search_path=" + schema
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// newService is an admin service over st, as vcguard-server builds one.
func newService(t *testing.T, st *store.Store) *admin.Service {
	t.Helper()
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return &admin.Service{Store: st, Catalog: cat, Logger: slog.New(slog.DiscardHandler), PasswordHashing: adminapitest.CheapArgon2}
}

// Two administrators disable each other (or themselves) at the same
// moment, each the other's last fellow admin: one is refused with
// ErrLastAdmin and one enabled admin stays, however the two interleave.
// On PostgreSQL the two run on two replicas (two stores on one database).
func TestLastAdminConcurrentDisable(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		s := adminapitest.New(t).Service
		testLastAdminRace(t, s, s)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := postgresSchema(t)
		var replicas [2]*admin.Service
		for i := range replicas {
			st, err := store.OpenPostgres(t.Context(), dsn)
			if err != nil {
				t.Fatalf("OpenPostgres: %v", err)
			}
			t.Cleanup(func() { st.Close() })
			replicas[i] = newService(t, st)
		}
		testLastAdminRace(t, replicas[0], replicas[1])
	})
}

func testLastAdminRace(t *testing.T, one, two *admin.Service) {
	ctx := t.Context()
	for _, a := range []struct {
		name string
		role store.Role
	}{{"alice", store.RoleAdmin}, {"bob", store.RoleAdmin}, {"carol", store.RoleAnalyst}} {
		if _, err := one.CreateAdmin(ctx, admin.SystemActor, a.name, a.role); err != nil {
			t.Fatal(err)
		}
	}
	const rounds = 50
	for round := range rounds {
		var start sync.WaitGroup
		start.Add(1)
		var done sync.WaitGroup
		errs := make([]error, 2)
		for i, target := range []string{"alice", "bob"} {
			s := []*admin.Service{one, two}[i]
			by := admin.Actor{Subject: []string{"bob", "alice"}[i], RemoteAddr: "192.0.2.1"}
			done.Go(func() {
				start.Wait()
				_, errs[i] = s.DisableAdmin(ctx, by, target)
			})
		}
		start.Done()
		done.Wait()
		refused := 0
		for i, err := range errs {
			switch {
			case errors.Is(err, admin.ErrLastAdmin):
				refused++
			case err != nil:
				t.Fatalf("round %d: disable %d: %v", round, i, err)
			}
		}
		all, err := one.Store.Admins(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var enabled []string
		for _, a := range all {
			if a.Role == store.RoleAdmin && a.Enabled() {
				enabled = append(enabled, a.Username)
			}
		}
		if refused != 1 || len(enabled) != 1 {
			t.Fatalf("round %d: %d of 2 concurrent disables refused (%v), enabled admins %v; want 1 refused and 1 admin left",
				round, refused, errs, enabled)
		}
		// Enable the disabled one again for the next round.
		for _, name := range []string{"alice", "bob"} {
			if name != enabled[0] {
				if _, err := one.EnableAdmin(ctx, admin.SystemActor, name); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// The refusals left no trace in the audit log: one disable and one
	// enable per round.
	log, err := one.Store.AuditLog(ctx, store.AuditFilter{Action: "admin_disable"})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != rounds {
		t.Errorf("%d admin_disable entries after %d rounds, want one per round", len(log), rounds)
	}
}
