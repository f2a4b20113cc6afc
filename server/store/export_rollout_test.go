package store

import (
	"context"
	"fmt"
	"strings"
)

// RolloutQueryPlan explains PolicyRollout's query in the store's dialect
// (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN), one line per row,
// so a test can check that it reads the index.
func (s *Store) RolloutQueryPlan(ctx context.Context) (string, error) {
	explain := `EXPLAIN QUERY PLAN `
	if s.dialect == dialectPostgres {
		explain = `EXPLAIN `
	}
	rows, err := s.db.QueryContext(ctx, explain+rolloutQuery)
	if err != nil {
		return "", fmt.Errorf("explain policy rollout: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		fmt.Fprintln(&b, vals...)
	}
	return b.String(), rows.Err()
}
