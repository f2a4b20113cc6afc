// Package store keeps the server's state: devices and what runs on them,
// events, policy versions, enrollment secrets, API tokens and dashboard
// sessions. It runs on an embedded SQLite database (modernc.org/sqlite, pure
// Go, WAL mode) by default, or on PostgreSQL (pgx through database/sql) so
// several server replicas can share one database. Both share every query;
// each schema is versioned with embedded goose migrations that keep the same
// versions, tables and columns.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/sqlite/*.sql
var sqliteMigrations embed.FS

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("not found")

// ErrInvalidEvent is returned for an event the store refuses to keep (a
// sequence number outside its range); nothing of the batch is stored.
var ErrInvalidEvent = errors.New("invalid event")

// Store is the server's database.
//
// Its connections are bounded whatever the number of agent streams. On
// SQLite one connection (writeDB) carries every write transaction and a small
// pool (db) the reads; on PostgreSQL one pool of postgresMaxOpenConns serves
// both. The agent stream's writes (ingest.go) are committed in groups by one
// writer goroutine (writer.go), so many streams share a few short
// transactions and leave room for everyone else's.
type Store struct {
	// Refused, when set, is called with a reason each time the store
	// refuses a change of a device's state beyond a per-device cap
	// (RefusedRunningApps, RefusedMediaRows, RefusedConnectionRows,
	// RefusedConnectionValue); the event itself is still
	// stored. The server counts these in its metrics. Set it before the
	// first write; nil ignores refusals. It is called from the writer
	// goroutine and must not block.
	Refused func(reason string)

	// db serves reads and the one-statement writes of the other files;
	// writeDB runs transactions (tx) and the writer's group transactions.
	// They are the same pool on PostgreSQL.
	db      *sql.DB
	writeDB *sql.DB
	w       *writer
	dialect dialect
	// purgeBatch is how many events one PurgeEvents statement deletes.
	purgeBatch int
	// sealer seals the accounts' TOTP secrets (SetSecretSealer); nil keeps
	// them as they are.
	sealer SecretSealer
	// pgConfig and schema are set on PostgreSQL: Listen opens its own
	// connection with pgConfig, and notices name the schema so that
	// installations in separate schemas of one database ignore each other.
	pgConfig *pgx.ConnConfig
	schema   string
}

// dialect names the database a Store runs on, for the few statements that
// differ (row locks); queries are otherwise shared.
type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// SQLite connection limits: one writer, a few readers. Each connection holds
// a descriptor on the database file and one on its WAL.
const (
	sqliteReadConns = 4
)

func newStore(db, writeDB *sql.DB, d dialect) *Store {
	s := &Store{db: db, writeDB: writeDB, dialect: d, purgeBatch: defaultPurgeBatch}
	s.w = newWriter(writeDB, d, func(reason string) {
		if s.Refused != nil {
			s.Refused(reason)
		}
	})
	return s
}

// OpenSQLite opens (creating if needed) the SQLite database at path and
// migrates it to the newest schema.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	// The database holds personal data (who ran what, when): owner only.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	f.Close()
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	// Write transactions take the lock at BEGIN, so two writers never
	// deadlock upgrading a read lock.
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	// SQLite lets one writer in at a time anyway: a single connection
	// for every write transaction means no writer ever waits on the
	// database lock (busy_timeout) behind another of ours, and statements
	// prepared on it stay prepared.
	writeDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	writeDB.SetMaxOpenConns(1)
	writeDB.SetMaxIdleConns(1)
	writeDB.SetConnMaxLifetime(0)
	writeDB.SetConnMaxIdleTime(0)
	if err := writeDB.PingContext(ctx); err != nil {
		writeDB.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	migrations, err := fs.Sub(sqliteMigrations, "migrations/sqlite")
	if err != nil {
		writeDB.Close()
		return nil, err
	}
	if err := migrate(ctx, writeDB, goose.DialectSQLite3, migrations); err != nil {
		writeDB.Close()
		return nil, fmt.Errorf("migrate sqlite %s: %w", path, err)
	}
	// Readers never wait for the writer in WAL mode. The pool is bounded
	// and keeps its connections, so none is reopened (and the schema
	// re-read) per request.
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		writeDB.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(sqliteReadConns)
	db.SetMaxIdleConns(sqliteReadConns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	st := newStore(db, writeDB, dialectSQLite)
	st.w.where = "sqlite database " + path
	return st, nil
}

func migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, migrations fs.FS, opts ...goose.ProviderOption) error {
	p, err := goose.NewProvider(dialect, db, migrations, opts...)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Close commits the agent writes already queued, then closes the database.
// Writes submitted after Close fail.
func (s *Store) Close() error {
	s.w.close()
	err := s.db.Close()
	if s.writeDB != s.db {
		err = errors.Join(err, s.writeDB.Close())
	}
	return err
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// tx runs fn in a transaction, committing when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// micros converts a time to the stored representation; the zero time is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros converts back; 0 is the zero time.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
