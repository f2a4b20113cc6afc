package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// EnrollmentSecret is a secret agents present to enroll. Only its hash is
// stored.
type EnrollmentSecret struct {
	ID          string
	Description string
	Hash        []byte
	Created     time.Time
	Expires     time.Time // zero: never
	Revoked     time.Time // zero: not revoked
	// Group is the device group every device enrolled with the secret
	// joins; "" is none.
	Group string
	// MaxUses is how many devices may enroll with the secret; 0 is no
	// limit. Uses is how many have.
	MaxUses, Uses int64
}

// Usable reports whether the secret may enroll a device at now.
func (e EnrollmentSecret) Usable(now time.Time) bool {
	return e.Unusable(now) == ""
}

// Unusable says why the secret may not enroll a device at now ("revoked",
// "expired", "used up"), or "" when it may.
func (e EnrollmentSecret) Unusable(now time.Time) string {
	switch {
	case !e.Revoked.IsZero():
		return "revoked"
	case !e.Expires.IsZero() && !now.Before(e.Expires):
		return "expired"
	case e.MaxUses > 0 && e.Uses >= e.MaxUses:
		return "used up"
	}
	return ""
}

// ErrSecretUnusable is returned by EnrollDevice when the secret was
// revoked, expired or used up before the enrollment could take a use.
var ErrSecretUnusable = errors.New("the enrollment secret is revoked, expired or used up")

// EnrollDevice stores a device enrolled with d.SecretID, takes one use of
// the secret and records audit, in one transaction. The use is taken by a
// conditional update, so concurrent enrollments (on every replica) never
// exceed the secret's limit; a secret no longer usable at now fails with
// ErrSecretUnusable and stores nothing.
func (s *Store) EnrollDevice(ctx context.Context, d Device, now time.Time, audit AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE enrollment_secrets SET uses = uses + 1
			WHERE id = $1 AND revoked_at = 0 AND (expires_at = 0 OR expires_at > $2) AND (max_uses = 0 OR uses < max_uses)`,
			d.SecretID, micros(now))
		if err != nil {
			return fmt.Errorf("take a use of enrollment secret %s: %w", d.SecretID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("take a use of enrollment secret %s: %w", d.SecretID, err)
		} else if n == 0 {
			return fmt.Errorf("enrollment secret %s: %w", d.SecretID, ErrSecretUnusable)
		}
		if err := insertDevice(ctx, tx, d); err != nil {
			return err
		}
		return appendAudit(ctx, tx, s.dialect, audit)
	})
}

// CreateEnrollmentSecret stores a new secret and its audit entry in one
// transaction.
func (s *Store) CreateEnrollmentSecret(ctx context.Context, e EnrollmentSecret, audit AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO enrollment_secrets (id, description, hash, created_at, expires_at, device_group, max_uses) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			e.ID, e.Description, e.Hash, micros(e.Created), micros(e.Expires), e.Group, e.MaxUses)
		if err != nil {
			return fmt.Errorf("create enrollment secret: %w", err)
		}
		return appendAudit(ctx, tx, s.dialect, audit)
	})
}

const secretColumns = `id, description, hash, created_at, expires_at, revoked_at, device_group, max_uses, uses`

func scanSecret(row interface{ Scan(...any) error }) (EnrollmentSecret, error) {
	var e EnrollmentSecret
	var created, expires, revoked int64
	if err := row.Scan(&e.ID, &e.Description, &e.Hash, &created, &expires, &revoked, &e.Group, &e.MaxUses, &e.Uses); err != nil {
		return e, err
	}
	e.Created, e.Expires, e.Revoked = fromMicros(created), fromMicros(expires), fromMicros(revoked)
	return e, nil
}

// EnrollmentSecretByHash finds a secret by the hash of its value.
func (s *Store) EnrollmentSecretByHash(ctx context.Context, hash []byte) (EnrollmentSecret, error) {
	e, err := scanSecret(s.db.QueryRowContext(ctx, `SELECT `+secretColumns+` FROM enrollment_secrets WHERE hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("look up enrollment secret: %w", err)
	}
	return e, nil
}

// EnrollmentSecrets lists every secret, newest first.
func (s *Store) EnrollmentSecrets(ctx context.Context) ([]EnrollmentSecret, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+secretColumns+` FROM enrollment_secrets ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list enrollment secrets: %w", err)
	}
	defer rows.Close()
	var out []EnrollmentSecret
	for rows.Next() {
		e, err := scanSecret(rows)
		if err != nil {
			return nil, fmt.Errorf("list enrollment secrets: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// RevokeEnrollmentSecret marks a secret revoked (revoking twice keeps the
// first time) and records audit, in one transaction.
func (s *Store) RevokeEnrollmentSecret(ctx context.Context, id string, now time.Time, audit AuditEntry) (EnrollmentSecret, error) {
	var e EnrollmentSecret
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`UPDATE enrollment_secrets SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, micros(now), id)
		if err != nil {
			return fmt.Errorf("revoke enrollment secret %s: %w", id, err)
		}
		e, err = scanSecret(tx.QueryRowContext(ctx, `SELECT `+secretColumns+` FROM enrollment_secrets WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("enrollment secret %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("revoke enrollment secret %s: %w", id, err)
		}
		return appendAudit(ctx, tx, s.dialect, audit)
	})
	return e, err
}

// Role is what an API token or session may do.
type Role string

// Roles.
const (
	RoleAdmin   Role = "admin"
	RoleAnalyst Role = "analyst"
	RoleAuditor Role = "auditor"
)

// Session is a dashboard login.
type Session struct {
	Hash    []byte
	Subject string
	Role    Role
	CSRF    string
	Created time.Time
	Expires time.Time
}

// CreateSession stores a session and drops expired ones.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1`, micros(sess.Created)); err != nil {
			return fmt.Errorf("drop expired sessions: %w", err)
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO sessions (hash, subject, role, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			sess.Hash, sess.Subject, string(sess.Role), sess.CSRF, micros(sess.Created), micros(sess.Expires))
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return nil
	})
}

// SessionByHash returns a session that has not expired at now.
func (s *Store) SessionByHash(ctx context.Context, hash []byte, now time.Time) (Session, error) {
	var sess Session
	var role string
	var created, expires int64
	err := s.db.QueryRowContext(ctx,
		`SELECT hash, subject, role, csrf, created_at, expires_at FROM sessions WHERE hash = $1 AND expires_at > $2`, hash, micros(now)).
		Scan(&sess.Hash, &sess.Subject, &role, &sess.CSRF, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, ErrNotFound
	}
	if err != nil {
		return sess, fmt.Errorf("look up session: %w", err)
	}
	sess.Role, sess.Created, sess.Expires = Role(role), fromMicros(created), fromMicros(expires)
	return sess, nil
}

// DeleteSession ends a session (a logout) and records audit, in one
// transaction.
func (s *Store) DeleteSession(ctx context.Context, hash []byte, audit AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = $1`, hash); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return appendAudit(ctx, tx, s.dialect, audit)
	})
}
