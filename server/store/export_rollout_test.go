package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// RolloutQueryPlan explains PolicyRollout's query in the store's dialect
// (SQLite's EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN after ANALYZE, with
// sequential scans made a last resort, so the plan names the index when it can be used),
// one line per row, so a test can check that it reads the index.
func (s *Store) RolloutQueryPlan(ctx context.Context) (string, error) {
	var b strings.Builder
	err := s.tx(ctx, func(tx *sql.Tx) error {
		explain := `EXPLAIN QUERY PLAN `
		if s.dialect == dialectPostgres {
			explain = `EXPLAIN `
			if _, err := tx.ExecContext(ctx, `ANALYZE devices`); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, explain+rolloutQuery)
		if err != nil {
			return fmt.Errorf("explain policy rollout: %w", err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprint(&b, v, " ")
			}
			fmt.Fprintln(&b)
		}
		return rows.Err()
	})
	return b.String(), err
}

// SeedDevices inserts enrolled devices with the policy version each
// applied (as stored: an agent's uint64 may be stored negative) and
// whether it is revoked, in one transaction: thousands of devices for the
// rollout tests without thousands of commits.
func (s *Store) SeedDevices(ctx context.Context, ids []string, versions []int64, revoked []bool) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for i, id := range ids {
			var rev int64
			if revoked[i] {
				rev = 1
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO devices (id, hostname, os, enrolled_at, policy_version, revoked_at)
				VALUES ($1, $2, 'linux', 1, $3, $4)`, id, id, versions[i], rev); err != nil {
				return fmt.Errorf("seed device %s: %w", id, err)
			}
		}
		return nil
	})
}
