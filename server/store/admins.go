package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrExists is returned when a record with the same unique key exists.
var ErrExists = errors.New("already exists")

// Admin is a dashboard account. PasswordHash is an argon2id PHC string.
// TOTPSecret is the base32 TOTP secret: it is stored as is (the database is
// owner-only and holds no use for it outside the server), so it must never
// be logged or shown after enrolment; String leaves it and the hash out.
type Admin struct {
	ID           string
	Username     string
	PasswordHash string
	TOTPSecret   string
	// TOTPCounter is the last TOTP time step used to log in; a code of
	// that step or an earlier one is refused.
	TOTPCounter int64
	Role        Role
	Created     time.Time
	Disabled    time.Time // zero: enabled
	LastLogin   time.Time // zero: never
	// TOTPPending is a new TOTP secret being enrolled (a self-service
	// reset), until a code of it is confirmed; "" if none.
	TOTPPending string
}

// String describes the account without its secrets, so that logging an
// Admin by mistake leaks nothing.
func (a Admin) String() string {
	return fmt.Sprintf("admin %s (%s, role %s)", a.Username, a.ID, a.Role)
}

// Enabled reports whether the account may log in.
func (a Admin) Enabled() bool { return a.Disabled.IsZero() }

// Pending reports whether the account waits for its invite to be used: it
// has no password yet and cannot log in.
func (a Admin) Pending() bool { return a.PasswordHash == "" }

// CreateAdmin stores a new account and its audit entry in one transaction;
// ErrExists if the username is taken.
func (s *Store) CreateAdmin(ctx context.Context, a Admin, audit AuditEntry) error {
	sealed, err := s.sealTOTP(a.Username, a.TOTPSecret)
	if err != nil {
		return err
	}
	a.TOTPSecret = sealed
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO admins (id, username, password_hash, totp_secret, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)
			 ON CONFLICT (username) DO NOTHING`,
			a.ID, a.Username, a.PasswordHash, a.TOTPSecret, string(a.Role), micros(a.Created))
		if err != nil {
			return fmt.Errorf("create admin %s: %w", a.Username, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("create admin %s: %w", a.Username, err)
		} else if n == 0 {
			return fmt.Errorf("admin %s: %w", a.Username, ErrExists)
		}
		return appendAudit(ctx, tx, s.dialect, audit)
	})
}

const adminColumns = `id, username, password_hash, totp_secret, totp_counter, role, created_at, disabled_at, last_login, totp_pending`

// scanAdmin reads an account, its TOTP secrets opened.
func (s *Store) scanAdmin(row interface{ Scan(...any) error }) (Admin, error) {
	a, err := scanAdminRow(row)
	if err != nil {
		return a, err
	}
	return s.openAdmin(a)
}

func scanAdminRow(row interface{ Scan(...any) error }) (Admin, error) {
	var a Admin
	var role string
	var created, disabled, lastLogin int64
	if err := row.Scan(&a.ID, &a.Username, &a.PasswordHash, &a.TOTPSecret, &a.TOTPCounter, &role, &created, &disabled, &lastLogin, &a.TOTPPending); err != nil {
		return a, err
	}
	a.Role, a.Created, a.Disabled, a.LastLogin = Role(role), fromMicros(created), fromMicros(disabled), fromMicros(lastLogin)
	return a, nil
}

// AdminByUsername finds an account, enabled or not.
func (s *Store) AdminByUsername(ctx context.Context, username string) (Admin, error) {
	a, err := s.scanAdmin(s.db.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admins WHERE username = $1`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("admin %s: %w", username, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("look up admin %s: %w", username, err)
	}
	return a, nil
}

// Admins lists every account by username.
func (s *Store) Admins(ctx context.Context) ([]Admin, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+adminColumns+` FROM admins ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	defer rows.Close()
	var out []Admin
	for rows.Next() {
		a, err := s.scanAdmin(rows)
		if err != nil {
			return nil, fmt.Errorf("list admins: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// updateAdmin runs one UPDATE on the account and, when endSessions is set,
// ends its dashboard sessions, and records audit (unless nil), in one
// transaction.
func (s *Store) updateAdmin(ctx context.Context, what, username string, endSessions bool, audit *AuditEntry,
	query string, args ...any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.updateAdminTx(ctx, tx, what, username, endSessions, audit, query, args...)
	})
}

// updateAdminTx is updateAdmin inside a transaction of the caller's.
func (s *Store) updateAdminTx(ctx context.Context, tx *sql.Tx, what, username string, endSessions bool, audit *AuditEntry,
	query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, username, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s %s: %w", what, username, err)
	} else if n == 0 {
		return fmt.Errorf("admin %s: %w", username, ErrNotFound)
	}
	if endSessions {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE subject = $1`, username); err != nil {
			return fmt.Errorf("%s %s: end sessions: %w", what, username, err)
		}
	}
	if audit != nil {
		return appendAudit(ctx, tx, s.dialect, *audit)
	}
	return nil
}

// disableQuery disables an account; disabling twice keeps the first time.
const disableQuery = `UPDATE admins SET disabled_at = CASE WHEN disabled_at = 0 THEN $1 ELSE disabled_at END WHERE username = $2`

// DisableAdmin disables an account (disabling twice keeps the first time),
// ends its sessions at once and records audit, in one transaction.
func (s *Store) DisableAdmin(ctx context.Context, username string, now time.Time, audit AuditEntry) error {
	return s.updateAdmin(ctx, "disable admin", username, true, &audit, disableQuery, micros(now), username)
}

// ErrLastAdmin refuses to disable the last enabled account of role admin
// that can log in (an account waiting for its invite cannot).
var ErrLastAdmin = errors.New("this is the last enabled admin account; add another admin first")

// DisableAdminKeepingOne is DisableAdmin unless the account is the last
// enabled one of role admin: then it changes nothing and returns
// ErrLastAdmin. It returns the account as the change left it.
//
// The check is made inside the transaction that disables. On PostgreSQL
// that transaction first locks every enabled admin row (in username order,
// so two such transactions cannot deadlock): a concurrent disable, on this
// replica or another, waits for it and then counts without the account it
// disabled, so two disables of the last two admins cannot both pass. On
// SQLite the write transaction holds the database's write lock from BEGIN.
func (s *Store) DisableAdminKeepingOne(ctx context.Context, username string, now time.Time, audit AuditEntry) (Admin, error) {
	var out Admin
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT username FROM admins WHERE role = $1 AND disabled_at = 0 AND password_hash <> '' ORDER BY username`+s.forUpdate(),
			string(RoleAdmin))
		if err != nil {
			return fmt.Errorf("disable admin %s: count enabled admins: %w", username, err)
		}
		var enabled []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return fmt.Errorf("disable admin %s: count enabled admins: %w", username, err)
			}
			enabled = append(enabled, name)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("disable admin %s: count enabled admins: %w", username, err)
		}
		if len(enabled) == 1 && enabled[0] == username {
			return fmt.Errorf("disable admin %s: %w", username, ErrLastAdmin)
		}
		if err := s.updateAdminTx(ctx, tx, "disable admin", username, true, &audit, disableQuery, micros(now), username); err != nil {
			return err
		}
		out, err = s.scanAdmin(tx.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admins WHERE username = $1`, username))
		if err != nil {
			return fmt.Errorf("disable admin %s: %w", username, err)
		}
		return nil
	})
	return out, err
}

// EnableAdmin enables a disabled account again and records audit, in one
// transaction.
func (s *Store) EnableAdmin(ctx context.Context, username string, audit AuditEntry) error {
	return s.updateAdmin(ctx, "enable admin", username, false, &audit, `UPDATE admins SET disabled_at = 0 WHERE username = $1`, username)
}

// ResetAdminCredentials replaces the password hash and, unless totpSecret
// is "", the TOTP secret (a new authenticator enrolment, forgetting the
// last used step); it ends the account's sessions and records audit, in
// one transaction.
func (s *Store) ResetAdminCredentials(ctx context.Context, username, passwordHash, totpSecret string, audit AuditEntry) error {
	if totpSecret == "" {
		return s.updateAdmin(ctx, "set password of", username, true, &audit,
			`UPDATE admins SET password_hash = $1 WHERE username = $2`, passwordHash, username)
	}
	totpSecret, err := s.sealTOTP(username, totpSecret)
	if err != nil {
		return err
	}
	return s.updateAdmin(ctx, "set password and TOTP secret of", username, true, &audit,
		`UPDATE admins SET password_hash = $1, totp_secret = $2, totp_counter = 0 WHERE username = $3`, passwordHash, totpSecret, username)
}

// ChangeAdminPassword replaces the password hash of an account, ends its
// sessions except the one whose hash is keep (the session that made the
// change; nil ends all) and records audit, in one transaction.
func (s *Store) ChangeAdminPassword(ctx context.Context, username, passwordHash string, keep []byte, audit AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.updateAdminTx(ctx, tx, "change password of", username, false, nil,
			`UPDATE admins SET password_hash = $1 WHERE username = $2 AND password_hash <> ''`, passwordHash, username); err != nil {
			return err
		}
		if err := endOtherSessions(ctx, tx, username, keep); err != nil {
			return err
		}
		return appendAudit(ctx, tx, s.dialect, audit)
	})
}

func endOtherSessions(ctx context.Context, tx *sql.Tx, username string, keep []byte) error {
	if keep == nil {
		keep = []byte{}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE subject = $1 AND hash <> $2`, username, keep); err != nil {
		return fmt.Errorf("end the other sessions of %s: %w", username, err)
	}
	return nil
}

// SetPendingTOTP stores a new TOTP secret an account is enrolling (after
// re-authentication), replacing any earlier one, and records audit, in one
// transaction. The current secret keeps working until ConfirmPendingTOTP.
func (s *Store) SetPendingTOTP(ctx context.Context, username, secret string, audit AuditEntry) error {
	secret, err := s.sealTOTP(username, secret)
	if err != nil {
		return err
	}
	return s.updateAdmin(ctx, "start TOTP enrolment of", username, false, &audit,
		`UPDATE admins SET totp_pending = $1 WHERE username = $2 AND password_hash <> ''`, secret, username)
}

// ErrNoPendingTOTP is returned when an account has no TOTP enrolment to
// confirm, or a different one from the one confirmed.
var ErrNoPendingTOTP = errors.New("no new authenticator enrolment to confirm: start again")

// ConfirmPendingTOTP makes the pending TOTP secret, which must be secret,
// the account's, records counter (the step of the code that confirmed it)
// as used, ends the account's sessions except keep and records audit, in
// one transaction.
func (s *Store) ConfirmPendingTOTP(ctx context.Context, username, secret string, counter int64, keep []byte, audit AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// The pending secret as stored (sealed, with a nonce of its own):
		// the update below takes exactly that one, so an enrolment
		// restarted meanwhile is not confirmed by the old code.
		var stored string
		err := tx.QueryRowContext(ctx, `SELECT totp_pending FROM admins WHERE username = $1`, username).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && stored == "") {
			return ErrNoPendingTOTP
		}
		if err != nil {
			return fmt.Errorf("confirm TOTP enrolment of %s: %w", username, err)
		}
		if pending, err := s.openTOTP(username, stored); err != nil {
			return err
		} else if pending != secret {
			return ErrNoPendingTOTP
		}
		res, err := tx.ExecContext(ctx, `UPDATE admins SET totp_secret = totp_pending, totp_pending = '', totp_counter = $1
			WHERE username = $2 AND totp_pending = $3 AND totp_pending <> ''`, counter, username, stored)
		if err != nil {
			return fmt.Errorf("confirm TOTP enrolment of %s: %w", username, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("confirm TOTP enrolment of %s: %w", username, err)
		} else if n == 0 {
			return ErrNoPendingTOTP
		}
		if err := endOtherSessions(ctx, tx, username, keep); err != nil {
			return err
		}
		return appendAudit(ctx, tx, s.dialect, audit)
	})
}

// UseTOTPCounter records that the code of TOTP time step counter was used
// to log in. It reports false, changing nothing, when that step or a later
// one was used already: a code works once, on every replica.
func (s *Store) UseTOTPCounter(ctx context.Context, username string, counter int64) (bool, error) {
	res, err := s.db.ExecContext(ctx,
		`UPDATE admins SET totp_counter = $1 WHERE username = $2 AND totp_counter < $1`, counter, username)
	if err != nil {
		return false, fmt.Errorf("use TOTP code of %s: %w", username, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use TOTP code of %s: %w", username, err)
	}
	return n == 1, nil
}

// AdminLoggedIn records a successful login.
func (s *Store) AdminLoggedIn(ctx context.Context, username string, now time.Time) error {
	return s.updateAdmin(ctx, "record login of", username, false, nil,
		`UPDATE admins SET last_login = $1 WHERE username = $2`, micros(now), username)
}

// DeleteSessionsOf ends every session of a subject.
func (s *Store) DeleteSessionsOf(ctx context.Context, subject string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE subject = $1`, subject); err != nil {
		return fmt.Errorf("delete sessions of %s: %w", subject, err)
	}
	return nil
}

// LoginFailures is the failed-login record of one key ("user:NAME" or
// "ip:ADDR").
type LoginFailures struct {
	Key         string
	Failures    int
	LockedUntil time.Time // zero: never locked
	Updated     time.Time
}

// Locked reports whether the key is locked out at now.
func (l LoginFailures) Locked(now time.Time) bool { return now.Before(l.LockedUntil) }

// LoginFailuresOf returns the record of key; a key without failures has a
// zero record (and no error).
func (s *Store) LoginFailuresOf(ctx context.Context, key string) (LoginFailures, error) {
	l := LoginFailures{Key: key}
	var locked, updated int64
	err := s.db.QueryRowContext(ctx, `SELECT failures, locked_until, updated_at FROM login_failures WHERE key = $1`, key).
		Scan(&l.Failures, &locked, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("look up login failures: %w", err)
	}
	l.LockedUntil, l.Updated = fromMicros(locked), fromMicros(updated)
	return l, nil
}

// RecordLoginFailure counts one more failed login for key at now, in one
// transaction that every replica serialises on. Failures last updated
// before now-forget are forgotten first. lockout says, for the new count of
// consecutive failures, how long the key is locked from now (0: not
// locked); a lockout never shortens one already running.
func (s *Store) RecordLoginFailure(ctx context.Context, key string, now time.Time, forget time.Duration,
	lockout func(failures int) time.Duration) (LoginFailures, error) {
	var out LoginFailures
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO login_failures (key, failures, locked_until, updated_at) VALUES ($1, 0, 0, $2) ON CONFLICT (key) DO NOTHING`,
			key, micros(now)); err != nil {
			return fmt.Errorf("record login failure: %w", err)
		}
		l := LoginFailures{Key: key}
		var locked, updated int64
		if err := tx.QueryRowContext(ctx, `SELECT failures, locked_until, updated_at FROM login_failures WHERE key = $1`+s.forUpdate(), key).
			Scan(&l.Failures, &locked, &updated); err != nil {
			return fmt.Errorf("record login failure: %w", err)
		}
		l.LockedUntil = fromMicros(locked)
		if now.Sub(fromMicros(updated)) > forget && !l.Locked(now) {
			l.Failures, l.LockedUntil = 0, time.Time{}
		}
		l.Failures++
		l.Updated = now
		if d := lockout(l.Failures); d > 0 && now.Add(d).After(l.LockedUntil) {
			l.LockedUntil = now.Add(d)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE login_failures SET failures = $1, locked_until = $2, updated_at = $3 WHERE key = $4`,
			l.Failures, micros(l.LockedUntil), micros(now), key); err != nil {
			return fmt.Errorf("record login failure: %w", err)
		}
		out = l
		return nil
	})
	return out, err
}

// ClearLoginFailures forgets the failures of key (after a successful login).
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, key); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}
