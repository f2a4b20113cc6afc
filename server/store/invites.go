package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Invite is a single-use, expiring link that sets up an account: whoever
// opens it chooses the password and enrols an authenticator app. Only the
// hash of its token is stored.
type Invite struct {
	ID        string
	Hash      []byte
	Username  string
	CreatedBy string
	Created   time.Time
	Expires   time.Time
	// Used is when it was used or superseded by a newer invite of the same
	// account (zero: not yet).
	Used time.Time
}

// Usable reports whether the invite may still be used at now.
func (i Invite) Usable(now time.Time) bool { return i.Used.IsZero() && now.Before(i.Expires) }

// ErrInviteSpent refuses an invite that was used, superseded or has
// expired.
var ErrInviteSpent = errors.New("this invite link was used already or has expired; ask an administrator for a new one")

const inviteColumns = `id, hash, username, created_by, created_at, expires_at, used_at`

func scanInvite(row interface{ Scan(...any) error }) (Invite, error) {
	var i Invite
	var created, expires, used int64
	if err := row.Scan(&i.ID, &i.Hash, &i.Username, &i.CreatedBy, &created, &expires, &used); err != nil {
		return i, err
	}
	i.Created, i.Expires, i.Used = fromMicros(created), fromMicros(expires), fromMicros(used)
	return i, nil
}

func insertInvite(ctx context.Context, tx *sql.Tx, inv Invite) error {
	// Earlier invites of the account stop working.
	if _, err := tx.ExecContext(ctx, `UPDATE admin_invites SET used_at = $1 WHERE username = $2 AND used_at = 0`,
		micros(inv.Created), inv.Username); err != nil {
		return fmt.Errorf("supersede the invites of %s: %w", inv.Username, err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO admin_invites (id, hash, username, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		inv.ID, inv.Hash, inv.Username, inv.CreatedBy, micros(inv.Created), micros(inv.Expires)); err != nil {
		return fmt.Errorf("store the invite of %s: %w", inv.Username, err)
	}
	return nil
}

// CreateAdminInvite stores a new account without a password (a.PasswordHash
// must be "": it cannot log in until the invite is used), its invite and
// the audit entry, in one transaction; ErrExists if the username is taken.
func (s *Store) CreateAdminInvite(ctx context.Context, a Admin, inv Invite, audit AuditEntry) error {
	if a.PasswordHash != "" || inv.Username != a.Username {
		return fmt.Errorf("invite %s: the account must be new, without a password, and the invite's", a.Username)
	}
	sealed, err := s.sealTOTP(a.Username, a.TOTPSecret)
	if err != nil {
		return err
	}
	a.TOTPSecret = sealed
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO admins (id, username, password_hash, totp_secret, role, created_at) VALUES ($1, $2, '', $3, $4, $5)
			 ON CONFLICT (username) DO NOTHING`,
			a.ID, a.Username, a.TOTPSecret, string(a.Role), micros(a.Created))
		if err != nil {
			return fmt.Errorf("create admin %s: %w", a.Username, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("create admin %s: %w", a.Username, err)
		} else if n == 0 {
			return fmt.Errorf("admin %s: %w", a.Username, ErrExists)
		}
		if err := insertInvite(ctx, tx, inv); err != nil {
			return err
		}
		return appendAudit(ctx, tx, s.dialect, audit)
	})
}

// ResetAdminInvite sets an existing account up again: its password is
// cleared (it cannot log in until the invite is used), its TOTP secret
// replaced by totpSecret, its sessions ended and earlier invites
// superseded; the invite and the audit entry are stored, all in one
// transaction.
func (s *Store) ResetAdminInvite(ctx context.Context, inv Invite, totpSecret string, audit AuditEntry) error {
	totpSecret, err := s.sealTOTP(inv.Username, totpSecret)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.updateAdminTx(ctx, tx, "reset", inv.Username, true, nil,
			`UPDATE admins SET password_hash = '', totp_secret = $1, totp_counter = 0, totp_pending = '' WHERE username = $2`,
			totpSecret, inv.Username); err != nil {
			return err
		}
		if err := insertInvite(ctx, tx, inv); err != nil {
			return err
		}
		return appendAudit(ctx, tx, s.dialect, audit)
	})
}

// InviteByHash finds an invite by the hash of its token, used or not, and
// its account; ErrNotFound if there is none.
func (s *Store) InviteByHash(ctx context.Context, hash []byte) (Invite, Admin, error) {
	inv, err := scanInvite(s.db.QueryRowContext(ctx, `SELECT `+inviteColumns+` FROM admin_invites WHERE hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return inv, Admin{}, fmt.Errorf("invite: %w", ErrNotFound)
	}
	if err != nil {
		return inv, Admin{}, fmt.Errorf("look up invite: %w", err)
	}
	a, err := s.AdminByUsername(ctx, inv.Username)
	return inv, a, err
}

// RedeemInvite uses the invite whose token hashes to hash at now: the
// account gets passwordHash and counter as its last used TOTP step (the
// code that confirmed the enrolment), and audit is recorded, in one
// transaction. ErrInviteSpent, changing nothing, when the invite was used,
// superseded or has expired (also when another request used it a moment
// before), or the account was set up meanwhile.
func (s *Store) RedeemInvite(ctx context.Context, hash []byte, now time.Time, passwordHash string, counter int64, audit AuditEntry) (Admin, error) {
	var out Admin
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE admin_invites SET used_at = $1 WHERE hash = $2 AND used_at = 0 AND expires_at > $1`,
			micros(now), hash)
		if err != nil {
			return fmt.Errorf("use invite: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("use invite: %w", err)
		} else if n == 0 {
			return ErrInviteSpent
		}
		var username string
		if err := tx.QueryRowContext(ctx, `SELECT username FROM admin_invites WHERE hash = $1`, hash).Scan(&username); err != nil {
			return fmt.Errorf("use invite: %w", err)
		}
		res, err = tx.ExecContext(ctx, `UPDATE admins SET password_hash = $1, totp_counter = $2 WHERE username = $3 AND password_hash = ''`,
			passwordHash, counter, username)
		if err != nil {
			return fmt.Errorf("set up admin %s: %w", username, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("set up admin %s: %w", username, err)
		} else if n == 0 {
			return ErrInviteSpent
		}
		if err := appendAudit(ctx, tx, s.dialect, audit); err != nil {
			return err
		}
		out, err = s.scanAdmin(tx.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admins WHERE username = $1`, username))
		return err
	})
	return out, err
}

// OpenInvites returns, per username, the newest invite not used or
// superseded (it may have expired: the caller compares with now).
func (s *Store) OpenInvites(ctx context.Context) (map[string]Invite, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+inviteColumns+` FROM admin_invites WHERE used_at = 0 ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list invites: %w", err)
	}
	defer rows.Close()
	out := map[string]Invite{}
	for rows.Next() {
		inv, err := scanInvite(rows)
		if err != nil {
			return nil, fmt.Errorf("list invites: %w", err)
		}
		out[inv.Username] = inv
	}
	return out, rows.Err()
}
