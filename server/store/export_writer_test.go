package store

import (
	"context"
	"database/sql"
)

// SetBeforeGroup makes the writer goroutine call fn before it collects each
// group; set it before the store's first write.
func SetBeforeGroup(s *Store, fn func()) { s.w.beforeGroup = fn }

// QueuedWrites is how many writes wait in the writer's queue.
func QueuedWrites(s *Store) int { return len(s.w.reqs) }

// QueryInt runs a query returning one integer on the store's read pool.
func QueryInt(ctx context.Context, s *Store, query string, args ...any) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// Exec runs a statement on the store's read pool (test set-up: triggers).
func Exec(ctx context.Context, s *Store, query string) error {
	_, err := s.db.ExecContext(ctx, query)
	return err
}

// DB is the store's read pool, for the benchmark's baseline.
func DB(s *Store) *sql.DB { return s.db }

// PendingTouches is how many heartbeats wait for the next group.
func PendingTouches(s *Store) int {
	s.w.tmu.Lock()
	defer s.w.tmu.Unlock()
	return len(s.w.touches)
}
