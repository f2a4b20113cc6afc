package store

import "context"

// ExecForTest runs a statement on the store's database, so the read-side
// tests can lay out rows (thousands of apps or media rows of one device)
// that the write path's budgets would refuse.
func ExecForTest(ctx context.Context, s *Store, query string, args ...any) error {
	_, err := s.db.ExecContext(ctx, query, args...)
	return err
}
