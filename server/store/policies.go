package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PolicyVersion is one published policy.
type PolicyVersion struct {
	Version     uint64
	Name        string
	Document    []byte
	Signature   []byte
	Published   time.Time
	PublishedBy string
}

// PublishPolicy stores a new policy version and its audit entry in one
// transaction; the entry's Target is set to "policy:VERSION". sign is called
// inside the transaction with the version number assigned, so the signature
// covers the number that is stored.
func (s *Store) PublishPolicy(ctx context.Context, name string, document []byte, by string, now time.Time,
	sign func(version uint64, document []byte) []byte, audit AuditEntry) (PolicyVersion, error) {
	p := PolicyVersion{Name: name, Document: document, Published: now.UTC().Truncate(time.Microsecond), PublishedBy: by}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Publishers must take turns, or two (on two replicas) read the
		// same highest version. SQLite's write transaction already holds
		// the database lock. On PostgreSQL a lock on the policies table
		// does it: the mode conflicts with itself and with writers, not
		// with readers, and lives in the table's own schema.
		if s.dialect == dialectPostgres {
			if _, err := tx.ExecContext(ctx, `LOCK TABLE policies IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return fmt.Errorf("lock policies for publishing: %w", err)
			}
		}
		var max sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM policies`).Scan(&max); err != nil {
			return fmt.Errorf("read newest policy version: %w", err)
		}
		p.Version = uint64(max.Int64) + 1
		p.Signature = sign(p.Version, document)
		_, err := tx.ExecContext(ctx, `INSERT INTO policies (version, name, document, signature, published_at, published_by)
			VALUES ($1, $2, $3, $4, $5, $6)`, int64(p.Version), p.Name, p.Document, p.Signature, micros(p.Published), p.PublishedBy)
		if err != nil {
			return fmt.Errorf("store policy version %d: %w", p.Version, err)
		}
		audit.Target = fmt.Sprintf("policy:%d", p.Version)
		if err := appendAudit(ctx, tx, s.dialect, audit); err != nil {
			return err
		}
		// Sent on commit: every replica pushes the version to its streams.
		return s.notify(ctx, tx, Notice{Kind: NoticePolicy, Version: p.Version})
	})
	return p, err
}

const policyColumns = `version, name, document, signature, published_at, published_by`

func scanPolicy(row interface{ Scan(...any) error }) (PolicyVersion, error) {
	var p PolicyVersion
	var version, published int64
	if err := row.Scan(&version, &p.Name, &p.Document, &p.Signature, &published, &p.PublishedBy); err != nil {
		return p, err
	}
	p.Version, p.Published = uint64(version), fromMicros(published)
	return p, nil
}

// CurrentPolicy returns the newest policy version, ErrNotFound if none.
func (s *Store) CurrentPolicy(ctx context.Context) (PolicyVersion, error) {
	p, err := scanPolicy(s.db.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM policies ORDER BY version DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("current policy: %w", ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("current policy: %w", err)
	}
	return p, nil
}

// Policy returns one policy version.
func (s *Store) Policy(ctx context.Context, version uint64) (PolicyVersion, error) {
	p, err := scanPolicy(s.db.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM policies WHERE version = $1`, int64(version)))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("policy version %d: %w", version, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("policy version %d: %w", version, err)
	}
	return p, nil
}

// Policies lists every version, newest first.
func (s *Store) Policies(ctx context.Context) ([]PolicyVersion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+policyColumns+` FROM policies ORDER BY version DESC`)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	defer rows.Close()
	var out []PolicyVersion
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("list policies: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
