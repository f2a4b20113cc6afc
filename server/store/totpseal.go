package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// SecretSealer seals the TOTP secrets of the accounts before they are
// stored and opens them when they are read (keyring.TOTPSealer, under the
// server's --kek-file). context binds a sealed value to its account: a
// sealed secret copied into another account's row does not open.
type SecretSealer interface {
	Seal(plaintext, context string) (string, error)
	Open(sealed, context string) (string, error)
}

// SealedPrefix starts a sealed TOTP secret in the database; a base32
// secret never does.
const SealedPrefix = "sealed:"

// SetSecretSealer makes the store seal the TOTP secrets it writes and open
// the ones it reads. Set it before the first use; without one, secrets are
// stored as they are and a sealed one cannot be read.
func (s *Store) SetSecretSealer(x SecretSealer) { s.sealer = x }

func totpContext(username string) string { return "vcguard totp secret of " + username }

// sealTOTP is what the store writes for an account's TOTP secret.
func (s *Store) sealTOTP(username, secret string) (string, error) {
	if secret == "" || s.sealer == nil {
		return secret, nil
	}
	v, err := s.sealer.Seal(secret, totpContext(username))
	if err != nil {
		return "", fmt.Errorf("seal the TOTP secret of %s: %w", username, err)
	}
	return v, nil
}

// ErrSealed is returned for an account whose TOTP secret is sealed when
// the store has no sealer (the server started without --kek-file).
var ErrSealed = errors.New("the TOTP secrets are sealed with a key-encryption key: start the server (and vcguard-server admin) with --kek-file, the file the other replicas use")

// openTOTP is an account's TOTP secret as stored, opened.
func (s *Store) openTOTP(username, stored string) (string, error) {
	if !strings.HasPrefix(stored, SealedPrefix) {
		return stored, nil
	}
	if s.sealer == nil {
		return "", fmt.Errorf("TOTP secret of %s: %w", username, ErrSealed)
	}
	v, err := s.sealer.Open(stored, totpContext(username))
	if err != nil {
		return "", fmt.Errorf("TOTP secret of %s does not open with --kek-file (is it the file the other replicas use?): %w", username, err)
	}
	return v, nil
}

// openAdmin opens the TOTP secrets of an account read from the database.
func (s *Store) openAdmin(a Admin) (Admin, error) {
	var err error
	if a.TOTPSecret, err = s.openTOTP(a.Username, a.TOTPSecret); err != nil {
		return a, err
	}
	if a.TOTPPending, err = s.openTOTP(a.Username, a.TOTPPending); err != nil {
		return a, err
	}
	return a, nil
}

// SealTOTPSecrets seals, in one transaction, every TOTP secret still
// stored in the clear (an installation from before --kek-file was given,
// or before the secrets were sealed). It reports how many accounts it
// sealed; without a sealer it does nothing.
func (s *Store) SealTOTPSecrets(ctx context.Context) (int, error) {
	if s.sealer == nil {
		return 0, nil
	}
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT username, totp_secret, totp_pending FROM admins`)
		if err != nil {
			return fmt.Errorf("read TOTP secrets: %w", err)
		}
		type row struct{ user, secret, pending string }
		var clear []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.user, &r.secret, &r.pending); err != nil {
				rows.Close()
				return fmt.Errorf("read TOTP secrets: %w", err)
			}
			if (r.secret != "" && !strings.HasPrefix(r.secret, SealedPrefix)) || (r.pending != "" && !strings.HasPrefix(r.pending, SealedPrefix)) {
				clear = append(clear, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read TOTP secrets: %w", err)
		}
		for _, r := range clear {
			secret, pending := r.secret, r.pending
			if !strings.HasPrefix(secret, SealedPrefix) {
				if secret, err = s.sealTOTP(r.user, secret); err != nil {
					return err
				}
			}
			if !strings.HasPrefix(pending, SealedPrefix) {
				if pending, err = s.sealTOTP(r.user, pending); err != nil {
					return err
				}
			}
			// Only the row as read: a concurrent change (another replica
			// sealing, an enrolment) wins and is sealed by its writer.
			if _, err := tx.ExecContext(ctx, `UPDATE admins SET totp_secret = $1, totp_pending = $2 WHERE username = $3 AND totp_secret = $4 AND totp_pending = $5`,
				secret, pending, r.user, r.secret, r.pending); err != nil {
				return fmt.Errorf("seal the TOTP secret of %s: %w", r.user, err)
			}
			n++
		}
		return nil
	})
	return n, err
}
