package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/postgres/*.sql
var postgresMigrations embed.FS

// Connection pool limits of one server replica. PostgreSQL allows 100
// connections by default; a handful of replicas stay well below it.
const (
	postgresMaxOpenConns = 20
	postgresMaxIdleConns = 10
	postgresConnIdleTime = 5 * time.Minute
)

// OpenPostgres connects to the PostgreSQL database named by dsn (a
// postgres:// URL or a key=value connection string, as libpq and pgx read
// them; PGPASSWORD and ~/.pgpass are honoured) and migrates it to the newest
// schema. Tables live in the connection's current schema, so a search_path
// parameter in the DSN selects another one.
//
// Several replicas may start at once: migrations run under a session-level
// advisory lock, so one migrates and the others wait and then find nothing
// to do. Errors name the server and database, never the password.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx masks the password in its parse errors; scrub again in case
		// the input was too malformed for it to find.
		return nil, scrub(fmt.Errorf("open postgres: parse connection string: %w", err), passwordOf(dsn))
	}
	where := describe(cfg)
	secret := cfg.Password
	fail := func(what string, err error) error {
		return scrub(fmt.Errorf("%s postgres %s: %w", what, where, err), secret)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(postgresMaxOpenConns)
	db.SetMaxIdleConns(postgresMaxIdleConns)
	db.SetConnMaxIdleTime(postgresConnIdleTime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fail("connect to", err)
	}
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		db.Close()
		return nil, fail("open", err)
	}
	if !schema.Valid {
		db.Close()
		return nil, fail("open", errors.New("no schema to create tables in: search_path names no existing schema; create the schema or fix search_path"))
	}
	migrations, err := fs.Sub(postgresMigrations, "migrations/postgres")
	if err != nil {
		db.Close()
		return nil, err
	}
	// Advisory locks are per database; the key includes the schema so that
	// installations in separate schemas of one database do not wait on each
	// other. Replicas poll for the lock every second, for up to 5 minutes.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(lockKey("vcguard migrate", schema.String)),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := migrate(ctx, db, goose.DialectPostgres, migrations, goose.WithSessionLocker(locker)); err != nil {
		db.Close()
		return nil, fail("migrate", fmt.Errorf("schema %s: %w", schema.String, err))
	}
	s := newStore(db, db, dialectPostgres)
	s.pgConfig, s.schema = cfg, schema.String
	s.w.where = fmt.Sprintf("postgres database %s on %s:%d, schema %s", cfg.Database, cfg.Host, cfg.Port, schema.String)
	return s, nil
}

// describe names a PostgreSQL server for messages: user, host, port and
// database, never the password.
func describe(cfg *pgx.ConnConfig) string {
	host := cfg.Host
	if !strings.HasPrefix(host, "/") { // not a unix socket directory
		host = net.JoinHostPort(host, strconv.Itoa(int(cfg.Port)))
	}
	return fmt.Sprintf("%s@%s/%s", cfg.User, host, cfg.Database)
}

// passwordOf returns the password in a postgres:// URL or a key=value DSN,
// best effort, so that error messages can be scrubbed of it.
func passwordOf(dsn string) string {
	if rest, ok := strings.CutPrefix(dsn, "postgres://"); ok {
		dsn = rest
	} else if rest, ok := strings.CutPrefix(dsn, "postgresql://"); ok {
		dsn = rest
	} else {
		for _, field := range strings.Fields(dsn) {
			if v, ok := strings.CutPrefix(field, "password="); ok {
				return strings.Trim(v, "'")
			}
		}
		return ""
	}
	userinfo, _, ok := strings.Cut(dsn, "@")
	if !ok {
		return ""
	}
	_, pw, _ := strings.Cut(userinfo, ":")
	return pw
}

// scrub returns err with every occurrence of secret in its message masked;
// errors.Is and errors.As still see the wrapped errors.
func scrub(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), secret, "xxxxx"), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// lockKey derives a PostgreSQL advisory lock key from a purpose and a schema.
func lockKey(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(schema))
	return int64(h.Sum64())
}

// forUpdate is the row-lock clause a read-then-write transaction appends to
// its SELECT. SQLite needs none: its write transactions take the database
// lock at BEGIN (_txlock=immediate), so they already run one at a time.
func (s *Store) forUpdate() string {
	if s.dialect == dialectPostgres {
		return ` FOR NO KEY UPDATE`
	}
	return ""
}

// Exclusive runs fn while holding a lock that the same purpose on other
// replicas waits for: on PostgreSQL a session advisory lock keyed by purpose
// and schema; on SQLite (one server) fn just runs. Replicas starting at once
// use it so that first-start steps (the first enrollment secret, the
// initial policy) happen once.
func (s *Store) Exclusive(ctx context.Context, purpose string, fn func() error) error {
	if s.dialect != dialectPostgres {
		return fn()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("lock %s: %w", purpose, err)
	}
	defer conn.Close()
	key := lockKey(purpose, s.schema)
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return fmt.Errorf("lock %s: %w", purpose, err)
	}
	defer func() {
		// Unlock even when ctx is done; closing the session would too.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn }) // drop the session, and its lock
		}
	}()
	return fn()
}
