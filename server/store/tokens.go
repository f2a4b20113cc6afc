package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const tokenColumns = `id, description, hash, role, created_at, revoked_at`

func scanToken(row interface{ Scan(...any) error }) (APIToken, error) {
	var t APIToken
	var role string
	var created, revoked int64
	if err := row.Scan(&t.ID, &t.Description, &t.Hash, &role, &created, &revoked); err != nil {
		return t, err
	}
	t.Role, t.Created, t.Revoked = Role(role), fromMicros(created), fromMicros(revoked)
	return t, nil
}

// APITokens lists every API token, revoked ones too, newest first.
func (s *Store) APITokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list API tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAPIToken revokes a token at once (revoking twice keeps the first
// time) and records audit, in one transaction.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, now time.Time, audit AuditEntry) (APIToken, error) {
	var t APIToken
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, micros(now), id); err != nil {
			return fmt.Errorf("revoke API token %s: %w", id, err)
		}
		var err error
		t, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("API token %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("revoke API token %s: %w", id, err)
		}
		return appendAudit(ctx, tx, s.dialect, audit)
	})
	return t, err
}
