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
type Store struct {
	db      *sql.DB
	dialect dialect
	// purgeBatch is how many events one PurgeEvents statement deletes.
	purgeBatch int
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

func newStore(db *sql.DB, d dialect) *Store {
	return &Store{db: db, dialect: d, purgeBatch: defaultPurgeBatch}
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
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	migrations, err := fs.Sub(sqliteMigrations, "migrations/sqlite")
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := migrate(ctx, db, goose.DialectSQLite3, migrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate sqlite %s: %w", path, err)
	}
	return newStore(db, dialectSQLite), nil
}

func migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, migrations fs.FS, opts ...goose.ProviderOption) error {
	p, err := goose.NewProvider(dialect, db, migrations, opts...)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// tx runs fn in a transaction, committing when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
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
