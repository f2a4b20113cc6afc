package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// defaultPurgeBatch is how many events one PurgeEvents statement deletes:
// enough to keep up, few enough that no transaction holds locks for long.
const defaultPurgeBatch = 10_000

// PurgeEvents deletes the events the server received before before (not
// the time the agent put on them, which its clock decides), in batches
// of at most 10,000 rows, each its own short transaction, so ingest is never
// held up for long. It returns how many it deleted, also when ctx ends or an
// error stops it part way. Devices keep their state and last sequence
// number, so a batch an agent resends is still recognised as stored.
//
// The connection state of the devices' apps (servers and accounts) and the
// pointers at their latest events (LatestEvent) received before before go
// with them: they are what those events said, and are kept no longer than
// they are. An app still in use is reported again when it next starts.
func (s *Store) PurgeEvents(ctx context.Context, before time.Time) (int64, error) {
	// At most MaxConnectionApps rows per device (and their items, by
	// cascade): one statement.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM device_connections WHERE received_at < $1`, micros(before)); err != nil {
		return 0, fmt.Errorf("purge connection state before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM device_latest_events WHERE received_at < $1`, micros(before)); err != nil {
		return 0, fmt.Errorf("purge latest-event pointers before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	var total int64
	for {
		res, err := s.db.ExecContext(ctx, `DELETE FROM events WHERE (device_id, seq) IN
			(SELECT device_id, seq FROM events WHERE received_at < $1 LIMIT $2)`, micros(before), s.purgeBatch)
		if err != nil {
			return total, fmt.Errorf("purge events before %s: %w", before.UTC().Format(time.RFC3339), err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("purge events before %s: %w", before.UTC().Format(time.RFC3339), err)
		}
		total += n
		if n < int64(s.purgeBatch) {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("purge events: %w", err)
		}
	}
}

// DefaultRetentionInterval is how often Retention purges when Interval is 0.
const DefaultRetentionInterval = time.Hour

// Retention purges events older than Keep from Store: once when Run starts,
// then every Interval. With several server replicas each may run one; the
// purges overlap harmlessly.
type Retention struct {
	Store    *Store
	Keep     time.Duration    // events older than this are purged
	Interval time.Duration    // 0: DefaultRetentionInterval
	Logger   *slog.Logger     // nil: no logs
	Now      func() time.Time // nil: time.Now
}

// Run purges until ctx ends. A failed purge is logged and tried again at
// the next interval.
func (r *Retention) Run(ctx context.Context) {
	interval := r.Interval
	if interval <= 0 {
		interval = DefaultRetentionInterval
	}
	now := r.Now
	if now == nil {
		now = time.Now
	}
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		before := now().Add(-r.Keep)
		n, err := r.Store.PurgeEvents(ctx, before)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.Warn("event retention: purge failed; will retry", "purged", n, "before", before, "err", err)
		default:
			logger.Info("event retention: purged old events", "purged", n, "before", before, "retention", r.Keep)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
