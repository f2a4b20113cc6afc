package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// APIToken is a bearer token for the JSON admin API. Only its hash
// is stored.
type APIToken struct {
	ID          string
	Description string
	Hash        []byte
	Role        Role
	Created     time.Time
	Revoked     time.Time
	// Owner is the account that made the token ("" for tokens made before
	// owners were recorded, or by the server itself). A token of an owner
	// that is disabled, not yet set up, gone, or whose role no longer
	// covers the token's is refused (UseAPIToken).
	Owner string
	// Expires is when the token stops working (zero: never, only tokens
	// made before expiry was required).
	Expires time.Time
	// LastUsed is the last use, recorded at most once a LastUsedResolution
	// (zero: never).
	LastUsed time.Time
}

// LastUsedResolution is how often a token's last use is written: a token
// used many times a minute costs one write a minute.
const LastUsedResolution = time.Minute

// Covers reports whether an account or token of role r may hand out role
// o: every role covers itself, and admin covers every role (analyst and
// auditor read different things, so neither covers the other).
func (r Role) Covers(o Role) bool { return r == o || r == RoleAdmin }

const tokenColumns = `id, description, hash, role, created_at, revoked_at, owner, expires_at, last_used_at`

func scanToken(row interface{ Scan(...any) error }, extra ...any) (APIToken, error) {
	var t APIToken
	var role string
	var created, revoked, expires, lastUsed int64
	dest := append([]any{&t.ID, &t.Description, &t.Hash, &role, &created, &revoked, &t.Owner, &expires, &lastUsed}, extra...)
	if err := row.Scan(dest...); err != nil {
		return t, err
	}
	t.Role, t.Created, t.Revoked = Role(role), fromMicros(created), fromMicros(revoked)
	t.Expires, t.LastUsed = fromMicros(expires), fromMicros(lastUsed)
	return t, nil
}

// CreateAPIToken stores a token and its audit entry in one transaction.
func (s *Store) CreateAPIToken(ctx context.Context, t APIToken, audit AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO api_tokens (id, description, hash, role, created_at, owner, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			t.ID, t.Description, t.Hash, string(t.Role), micros(t.Created), t.Owner, micros(t.Expires))
		if err != nil {
			return fmt.Errorf("create API token: %w", err)
		}
		return appendAudit(ctx, tx, s.dialect, audit)
	})
}

// APITokenByHash finds a token that is not revoked by the hash of its value
// (expired or not: UseAPIToken is the check of a request).
func (s *Store) APITokenByHash(ctx context.Context, hash []byte) (APIToken, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1 AND revoked_at = 0`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("look up API token: %w", err)
	}
	return t, nil
}

// UseAPIToken finds the token a request presents by the hash of its value
// and records its use. ErrNotFound when there is no such token, or it is
// revoked, expired at now, or its owner is disabled, not set up, gone or
// no longer of a role that covers the token's. The use is written only
// when the last one recorded is LastUsedResolution or more before now, so
// a busy token costs one write a minute.
func (s *Store) UseAPIToken(ctx context.Context, hash []byte, now time.Time) (APIToken, error) {
	var ownerRole, ownerHash sql.NullString
	var ownerDisabled sql.NullInt64
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT t.id, t.description, t.hash, t.role, t.created_at, t.revoked_at, t.owner, t.expires_at, t.last_used_at, a.role, a.password_hash, a.disabled_at
		FROM api_tokens t LEFT JOIN admins a ON a.username = t.owner WHERE t.hash = $1 AND t.revoked_at = 0`, hash),
		&ownerRole, &ownerHash, &ownerDisabled)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("look up API token: %w", err)
	}
	if !t.Expires.IsZero() && !now.Before(t.Expires) {
		return APIToken{}, ErrNotFound
	}
	if t.Owner != "" && (!ownerRole.Valid || ownerHash.String == "" || ownerDisabled.Int64 != 0 || !Role(ownerRole.String).Covers(t.Role)) {
		return APIToken{}, ErrNotFound
	}
	if now.Sub(t.LastUsed) >= LastUsedResolution {
		if _, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND last_used_at <= $3`,
			micros(now), t.ID, micros(now.Add(-LastUsedResolution))); err != nil {
			return APIToken{}, fmt.Errorf("record use of API token %s: %w", t.ID, err)
		}
		t.LastUsed = now
	}
	return t, nil
}

// APITokens lists every API token, revoked ones too, newest first.
func (s *Store) APITokens(ctx context.Context) ([]APIToken, error) {
	return s.apiTokens(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at DESC, id`)
}

// APITokensOf lists the API tokens an account owns, revoked ones too,
// newest first.
func (s *Store) APITokensOf(ctx context.Context, owner string) ([]APIToken, error) {
	return s.apiTokens(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE owner = $1 ORDER BY created_at DESC, id`, owner)
}

func (s *Store) apiTokens(ctx context.Context, query string, args ...any) ([]APIToken, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
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
	return s.RevokeAPITokenOf(ctx, id, "", now, audit)
}

// RevokeAPITokenOf is RevokeAPIToken of a token that owner owns; owner ""
// revokes any token. A token of another owner is ErrNotFound and changes
// nothing.
func (s *Store) RevokeAPITokenOf(ctx context.Context, id, owner string, now time.Time, audit AuditEntry) (APIToken, error) {
	var t APIToken
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != "" && t.Owner != owner) {
			return fmt.Errorf("API token %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("revoke API token %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, micros(now), id); err != nil {
			return fmt.Errorf("revoke API token %s: %w", id, err)
		}
		if t.Revoked.IsZero() {
			t.Revoked = fromMicros(micros(now))
		}
		return appendAudit(ctx, tx, s.dialect, audit)
	})
	return t, err
}
