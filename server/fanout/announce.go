package fanout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vcguard/vcguard/server/store"
)

// NoticeStream is the kind of notice announcing that a stream of
// Notice.Device opened on a replica; Notice.Version carries the stream's
// id (Subscription.Stream). A Bridge hands it to Hub.Heard.
const NoticeStream store.NoticeKind = "stream"

// PostgresAnnouncer sends stream announcements on the store's notice
// channel (store.NoticeChannel), in the store's notice format, from a
// small pool of its own on the same database.
//
// It stands in for a store method (Store.AnnounceStream) until the store
// has one: it must use the same DSN as the store, so that
// current_schema() names the schema the store's Listen filters on.
type PostgresAnnouncer struct {
	pool   *pgxpool.Pool
	schema string
}

// OpenPostgresAnnouncer connects to the PostgreSQL database dsn names (the
// store's --db).
func OpenPostgresAnnouncer(ctx context.Context, dsn string) (*PostgresAnnouncer, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("stream announcements: the postgres URL does not parse")
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("stream announcements: connect to postgres: %w", err)
	}
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil || schema == nil {
		pool.Close()
		if err == nil {
			err = errors.New("search_path names no existing schema")
		}
		return nil, fmt.Errorf("stream announcements: find the schema: %w", err)
	}
	return &PostgresAnnouncer{pool: pool, schema: *schema}, nil
}

// AnnounceStream tells every replica (this one too) that stream of
// deviceID opened.
func (a *PostgresAnnouncer) AnnounceStream(ctx context.Context, deviceID string, stream uint64) error {
	payload, err := json.Marshal(store.Notice{Schema: a.schema, Kind: NoticeStream, Device: deviceID, Version: stream})
	if err != nil {
		return err
	}
	if _, err := a.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, store.NoticeChannel, string(payload)); err != nil {
		return fmt.Errorf("announce stream of %s: %w", deviceID, err)
	}
	return nil
}

// Close closes the pool.
func (a *PostgresAnnouncer) Close() { a.pool.Close() }
