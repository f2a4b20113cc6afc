package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// NoticeChannel is the PostgreSQL channel replicas NOTIFY and LISTEN on.
const NoticeChannel = "vcguard"

// NoticeKind says what changed.
type NoticeKind string

// Notice kinds.
const (
	// NoticePolicy: policy version Version was published.
	NoticePolicy NoticeKind = "policy"
	// NoticeRevoke: device Device was revoked.
	NoticeRevoke NoticeKind = "revoke"
	// NoticeStream: a stream of device Device opened on a replica;
	// Version is the stream's id. The replicas end the device's older
	// streams, so a device holds one live stream across them.
	NoticeStream NoticeKind = "stream"
	// NoticeCatalog: catalog version Version was published.
	NoticeCatalog NoticeKind = "catalog"
)

// Notice tells the other replicas about a change they must act on at once.
// On PostgreSQL it is sent with NOTIFY inside the transaction that makes the
// change, so it is delivered when, and only if, the change commits.
type Notice struct {
	// Schema is the schema the change was made in: installations in
	// separate schemas of one database share the channel and ignore each
	// other's notices.
	Schema  string     `json:"schema"`
	Kind    NoticeKind `json:"kind"`
	Version uint64     `json:"version,omitempty"`
	Device  string     `json:"device,omitempty"`
}

// notify sends n to every listening replica when tx commits. On SQLite,
// one server owns the database and there is nobody to tell.
func (s *Store) notify(ctx context.Context, tx *sql.Tx, n Notice) error {
	if s.dialect != dialectPostgres {
		return nil
	}
	n.Schema = s.schema
	payload, err := json.Marshal(n)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, NoticeChannel, string(payload)); err != nil {
		return fmt.Errorf("notify replicas of %s: %w", n.Kind, err)
	}
	return nil
}

// AnnounceStream tells every replica (this one too) that stream opened for
// deviceID. It is sent outside any transaction, from the read pool: the
// stream exists once it is announced. On SQLite it does nothing.
func (s *Store) AnnounceStream(ctx context.Context, deviceID string, stream uint64) error {
	if s.dialect != dialectPostgres {
		return nil
	}
	payload, err := json.Marshal(Notice{Schema: s.schema, Kind: NoticeStream, Device: deviceID, Version: stream})
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, NoticeChannel, string(payload)); err != nil {
		return fmt.Errorf("announce stream of %s: %w", deviceID, err)
	}
	return nil
}

// Shared reports whether other server replicas may use the database
// (PostgreSQL), so changes must be fanned out with Listen.
func (s *Store) Shared() bool { return s.dialect == dialectPostgres }

// listenLiveness is how long Listen waits for a notice before it checks
// that its connection is still alive.
const listenLiveness = 30 * time.Second

// Listen opens a dedicated connection, LISTENs on NoticeChannel, calls
// listening once notices are subscribed, then hands every notice of this
// store's schema to handle, in order, until ctx ends (nil) or the
// connection fails (the error; the caller reconnects and must assume
// notices were lost meanwhile). On SQLite it returns nil at once.
func (s *Store) Listen(ctx context.Context, listening func(), handle func(Notice)) error {
	if s.pgConfig == nil {
		return nil
	}
	connectCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	conn, err := pgx.ConnectConfig(connectCtx, s.pgConfig.Copy())
	cancel()
	if err != nil {
		return scrub(fmt.Errorf("listen: connect to postgres %s: %w", describe(s.pgConfig), err), s.pgConfig.Password)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+NoticeChannel); err != nil {
		return fmt.Errorf("listen on %s: %w", NoticeChannel, err)
	}
	listening()
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenLiveness)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, context.DeadlineExceeded) || (err != nil && waitCtx.Err() != nil && !conn.IsClosed()) {
			// Quiet: make sure the connection still works, or
			// notices could be missed without anyone knowing.
			pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("listen: connection check: %w", err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("listen: wait for notices: %w", err)
		}
		var notice Notice
		if err := json.Unmarshal([]byte(n.Payload), &notice); err != nil || notice.Schema != s.schema {
			continue // another installation's, or not ours
		}
		handle(notice)
	}
}

// RevokeDevice marks a device revoked (revoking twice keeps the first time),
// records audit and tells the other replicas, which cut off its stream at
// once, in one transaction. It returns the device.
func (s *Store) RevokeDevice(ctx context.Context, id string, now time.Time, audit AuditEntry) (Device, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, micros(now), id)
		if err != nil {
			return fmt.Errorf("revoke device %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM devices WHERE id = $1`, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("device %s: %w", id, ErrNotFound)
			} else if err != nil {
				return fmt.Errorf("revoke device %s: %w", id, err)
			}
		}
		if err := appendAudit(ctx, tx, s.dialect, audit); err != nil {
			return err
		}
		// Notify again on a second revoke: a replica that missed the
		// first notice cuts the device off now.
		return s.notify(ctx, tx, Notice{Kind: NoticeRevoke, Device: id})
	})
	if err != nil {
		return Device{}, err
	}
	return s.Device(ctx, id)
}

// RevokedDevices returns the ids of every revoked device.
func (s *Store) RevokedDevices(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM devices WHERE revoked_at <> 0 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list revoked devices: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list revoked devices: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// SetCertSerial records the serial number of a device's newest client
// certificate (issued at renewal).
func (s *Store) SetCertSerial(ctx context.Context, id, serial string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE devices SET cert_serial = $1 WHERE id = $2`, serial, id)
	if err != nil {
		return fmt.Errorf("device %s: record certificate serial: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("device %s: %w", id, ErrNotFound)
	}
	return nil
}
