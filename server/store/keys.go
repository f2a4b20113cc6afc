package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Names of the server keys.
const (
	// ServerKeyCA is the certificate authority: certificate and key.
	ServerKeyCA = "ca"
	// ServerKeyPolicy is the Ed25519 key that signs policies.
	ServerKeyPolicy = "policy"
)

// ServerKey is a key every replica shares. PrivateKey is PEM, sealed by the
// caller when it has a key-encryption key: the store keeps what it is given.
type ServerKey struct {
	Name        string
	Certificate []byte // PEM; empty for a bare key
	PrivateKey  []byte
	Created     time.Time
}

// ServerKey returns the stored key name, ErrNotFound if none.
func (s *Store) ServerKey(ctx context.Context, name string) (ServerKey, error) {
	k := ServerKey{Name: name}
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT certificate, private_key, created_at FROM server_keys WHERE name = $1`, name).
		Scan(&k.Certificate, &k.PrivateKey, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("server key %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return k, fmt.Errorf("server key %s: %w", name, err)
	}
	k.Created = fromMicros(created)
	return k, nil
}

// AddServerKey stores k unless a key of that name is stored already, and
// returns the stored key. Replicas starting at once may all offer a key of
// their own: exactly one is stored and every replica gets that one back.
func (s *Store) AddServerKey(ctx context.Context, k ServerKey) (ServerKey, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO server_keys (name, certificate, private_key, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`,
		k.Name, k.Certificate, k.PrivateKey, micros(k.Created)); err != nil {
		return ServerKey{}, fmt.Errorf("store server key %s: %w", k.Name, err)
	}
	return s.ServerKey(ctx, k.Name)
}

// ReplaceServerKeyPrivate swaps the stored private key of name from old to
// new (sealing a key stored in the clear). It reports false, changing
// nothing, when the stored key is no longer old: another replica did it.
func (s *Store) ReplaceServerKeyPrivate(ctx context.Context, name string, old, new []byte) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE server_keys SET private_key = $1 WHERE name = $2 AND private_key = $3`, new, name, old)
	if err != nil {
		return false, fmt.Errorf("replace server key %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
