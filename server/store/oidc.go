package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// OIDCIdentity is an administrator known from the OpenID Connect provider.
type OIDCIdentity struct {
	Issuer, Subject string
	// Label is how the identity is shown: "oidc:" and its email or subject.
	Label string
	// Role is what its last sign-in mapped to.
	Role                  Role
	FirstLogin, LastLogin time.Time
}

// OIDCSignIn records a sign-in through the OpenID Connect provider in one
// transaction: the identity (created or updated), the dashboard session
// and the audit entry success; when the identity's role differs from its
// last sign-in's, also a "role_change" entry, and its other sessions (of
// the old role) end. It returns the previous role
// ("" for a first sign-in).
func (s *Store) OIDCSignIn(ctx context.Context, id OIDCIdentity, sess Session, success AuditEntry) (Role, error) {
	var prev Role
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var role string
		err := tx.QueryRowContext(ctx, `SELECT role FROM oidc_identities WHERE issuer = $1 AND subject = $2`, id.Issuer, id.Subject).Scan(&role)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO oidc_identities (issuer, subject, label, role, first_login, last_login)
				VALUES ($1, $2, $3, $4, $5, $5)`, id.Issuer, id.Subject, id.Label, string(id.Role), micros(id.LastLogin))
		case err == nil:
			prev = Role(role)
			_, err = tx.ExecContext(ctx, `UPDATE oidc_identities SET label = $3, role = $4, last_login = $5 WHERE issuer = $1 AND subject = $2`,
				id.Issuer, id.Subject, id.Label, string(id.Role), micros(id.LastLogin))
		}
		if err != nil {
			return fmt.Errorf("record OpenID Connect identity: %w", err)
		}
		if prev != "" && prev != id.Role {
			// Sessions of the old role end with it.
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE subject = $1`, sess.Subject); err != nil {
				return fmt.Errorf("end sessions of the old role: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1`, micros(sess.Created)); err != nil {
			return fmt.Errorf("drop expired sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO sessions (hash, subject, role, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			sess.Hash, sess.Subject, string(sess.Role), sess.CSRF, micros(sess.Created), micros(sess.Expires)); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		if prev != "" && prev != id.Role {
			detail, err := json.Marshal(map[string]any{"method": "oidc", "issuer": id.Issuer, "sub": id.Subject,
				"from": prev, "to": id.Role})
			if err != nil {
				return err
			}
			if err := appendAudit(ctx, tx, s.dialect, AuditEntry{At: success.At, Actor: success.Actor, Action: "role_change",
				Target: "admin:" + id.Label, Detail: detail, RemoteAddr: success.RemoteAddr}); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, s.dialect, success)
	})
	return prev, err
}

// OIDCIdentities lists the identities that signed in through the OpenID
// Connect provider, the latest sign-in first.
func (s *Store) OIDCIdentities(ctx context.Context) ([]OIDCIdentity, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT issuer, subject, label, role, first_login, last_login FROM oidc_identities ORDER BY last_login DESC LIMIT 1000`)
	if err != nil {
		return nil, fmt.Errorf("list OpenID Connect identities: %w", err)
	}
	defer rows.Close()
	var out []OIDCIdentity
	for rows.Next() {
		var id OIDCIdentity
		var role string
		var first, last int64
		if err := rows.Scan(&id.Issuer, &id.Subject, &id.Label, &role, &first, &last); err != nil {
			return nil, fmt.Errorf("list OpenID Connect identities: %w", err)
		}
		id.Role, id.FirstLogin, id.LastLogin = Role(role), fromMicros(first), fromMicros(last)
		out = append(out, id)
	}
	return out, rows.Err()
}
