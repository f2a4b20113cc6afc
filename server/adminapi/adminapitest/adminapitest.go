// Package adminapitest builds a real admin API for tests of the packages
// that serve it: a SQLite store in a temporary directory, the embedded
// catalog, a fresh policy-signing key, one API token per role, and the
// European default policy published as version 1, and an empty audit log.
package adminapitest

import (
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/fanout"
	"github.com/vcguard/vcguard/server/store"
)

// Roles are the roles New creates a token for.
var Roles = []store.Role{store.RoleAdmin, store.RoleAnalyst, store.RoleAuditor}

// CheapArgon2 are argon2id parameters that keep tests fast, -race too.
var CheapArgon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}

// Account is an administrator created by AddAdmin, with its credentials.
type Account struct {
	Username, Password, TOTPSecret string
	Role                           store.Role
}

// AddAdmin creates an account of role and returns its credentials.
func (e *Env) AddAdmin(t testing.TB, username string, role store.Role) Account {
	t.Helper()
	created, err := e.Service.CreateAdmin(t.Context(), admin.SystemActor, username, role)
	if err != nil {
		t.Fatal(err)
	}
	key, err := otp.NewKeyFromURL(created.TOTPURL)
	if err != nil {
		t.Fatal(err)
	}
	return Account{Username: created.Admin.Username, Password: created.Password, TOTPSecret: key.Secret(), Role: role}
}

// Env is a ready admin API with what a test needs to reach into.
type Env struct {
	API *adminapi.API
	// Service is the admin service the API (and a dashboard) calls.
	Service   *admin.Service
	Store     *store.Store
	Hub       *fanout.Hub
	PolicyKey ed25519.PublicKey
	// Tokens holds one API token value per role.
	Tokens map[store.Role]string
	// DBPath is the SQLite database file, for Exec.
	DBPath string
}

// Exec runs statements on the store's database over a connection of its
// own, in one transaction, so tests can lay out what the write path's
// budgets refuse (10,000 media rows of one device). Each statement is run
// with the arguments args returns for i from 0 to n-1.
func (e *Env) Exec(t testing.TB, n int, query string, args func(i int) []any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.DBPath+"?_pragma=busy_timeout(30000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := stmt.ExecContext(t.Context(), args(i)...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// New builds the environment; everything is closed when the test ends.
func New(t testing.TB) *Env {
	t.Helper()
	ctx := t.Context()
	dbPath := filepath.Join(t.TempDir(), "vcguard.db")
	st, err := store.OpenSQLite(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Store: st, Hub: &fanout.Hub{}, PolicyKey: pub, Tokens: map[store.Role]string{}, DBPath: dbPath}
	e.Service = &admin.Service{Store: st, Catalog: cat, PolicyKey: key, Hub: e.Hub,
		Logger: slog.New(slog.DiscardHandler), PasswordHashing: CheapArgon2}
	e.API = &adminapi.API{Admin: e.Service, Tokens: auth.TokenChecker{Store: st}, Logger: slog.New(slog.DiscardHandler)}
	for _, role := range Roles {
		value, hash := auth.NewSecret("vcg_test_")
		if err := st.CreateAPIToken(ctx, store.APIToken{ID: "tok_" + string(role), Hash: hash, Role: role, Created: time.Now()},
			store.AuditEntry{At: time.Now(), Actor: "system", Action: "token_create", Target: "token:tok_" + string(role)}); err != nil {
			t.Fatal(err)
		}
		e.Tokens[role] = value
	}
	// As the server does at start: the embedded catalog is version 1 of
	// the catalogs pushed to agents.
	if err := e.Service.SeedCatalog(ctx); err != nil {
		t.Fatalf("seed the embedded catalog: %v", err)
	}
	doc, err := policies.ExamplePolicy("eu-default")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := e.Service.PublishPolicy(ctx, admin.Actor{Subject: "test"}, doc, "test setup"); err != nil || v.Version != 1 {
		t.Fatalf("publish initial policy: %+v, %v", v, err)
	}
	// The set-up is audited like every change; tests start from an empty
	// audit log, so they see their own changes only.
	e.Exec(t, 1, `DELETE FROM audit_log`, func(int) []any { return nil })
	return e
}
