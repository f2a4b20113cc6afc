package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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
	// Comment is the publisher's reason for the change ("" for versions
	// published before comments were asked).
	Comment string
}

// NewPolicy is a policy version to publish: PublishPolicy assigns its
// number and signature.
type NewPolicy struct {
	Name     string
	Document []byte
	By       string
	Comment  string
	At       time.Time
}

// ErrUnchanged is the error (an *UnchangedError) of publishing a document
// identical to the version in force.
var ErrUnchanged = errors.New("policy unchanged")

// UnchangedError is the refusal of a document identical to the version in
// force: publishing it would make a version without a difference.
type UnchangedError struct {
	// Version is the version in force whose document is identical.
	Version uint64
}

func (e *UnchangedError) Error() string {
	return fmt.Sprintf("the document is identical to version %d, the version in force: nothing to publish", e.Version)
}

// Is makes errors.Is(err, ErrUnchanged) hold.
func (e *UnchangedError) Is(target error) bool { return target == ErrUnchanged }

// PublishPolicy stores a new policy version and its audit entry in one
// transaction; the entry's Target is set to "policy:VERSION". A document
// byte for byte identical to the newest version's is refused with an
// *UnchangedError (errors.Is ErrUnchanged), read in the same transaction so
// two publishers cannot both slip past it. sign is called inside the
// transaction with the version number assigned, so the signature covers the
// number that is stored.
func (s *Store) PublishPolicy(ctx context.Context, np NewPolicy,
	sign func(version uint64, document []byte) []byte, audit AuditEntry) (PolicyVersion, error) {
	p := PolicyVersion{Name: np.Name, Document: np.Document, Published: np.At.UTC().Truncate(time.Microsecond),
		PublishedBy: np.By, Comment: np.Comment}
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
		var newest int64
		var current []byte
		err := tx.QueryRowContext(ctx, `SELECT version, document FROM policies ORDER BY version DESC LIMIT 1`).Scan(&newest, &current)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read newest policy version: %w", err)
		case bytes.Equal(current, p.Document):
			return &UnchangedError{Version: uint64(newest)}
		}
		p.Version = uint64(newest) + 1
		p.Signature = sign(p.Version, p.Document)
		_, err = tx.ExecContext(ctx, `INSERT INTO policies (version, name, document, signature, published_at, published_by, comment)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, int64(p.Version), p.Name, p.Document, p.Signature, micros(p.Published), p.PublishedBy, p.Comment)
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

const policyColumns = `version, name, document, signature, published_at, published_by, comment`

func scanPolicy(row interface{ Scan(...any) error }) (PolicyVersion, error) {
	var p PolicyVersion
	var version, published int64
	if err := row.Scan(&version, &p.Name, &p.Document, &p.Signature, &published, &p.PublishedBy, &p.Comment); err != nil {
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

// Rollout is how far the policy versions have reached the fleet: the
// enrolled devices that are not revoked, by the newest policy version each
// reported applying.
type Rollout struct {
	// Total counts the enrolled devices that are not revoked.
	Total int
	// versions are the applied versions in ascending order, counts[i] the
	// devices on versions[i] and atLeast[i] those on versions[i] or newer.
	versions        []uint64
	counts, atLeast []int
}

// Applied counts the devices that applied version v or a newer one (agents
// only move forward: one on a newer version has passed v or skipped it).
func (r Rollout) Applied(v uint64) int {
	if v == 0 {
		return r.Total
	}
	i, _ := slices.BinarySearch(r.versions, v)
	if i == len(r.versions) {
		return 0
	}
	return r.atLeast[i]
}

// On counts the devices whose newest applied version is exactly v.
func (r Rollout) On(v uint64) int {
	if i, ok := slices.BinarySearch(r.versions, v); ok {
		return r.counts[i]
	}
	return 0
}

// PolicyRollout counts the enrolled, not revoked devices by the policy
// version they applied: one grouped read of the devices_rollout index
// (revoked_at, policy_version), so it stays cheap with thousands of devices.
func (s *Store) PolicyRollout(ctx context.Context) (Rollout, error) {
	var r Rollout
	rows, err := s.db.QueryContext(ctx, rolloutQuery)
	if err != nil {
		return r, fmt.Errorf("policy rollout: %w", err)
	}
	defer rows.Close()
	type count struct {
		version uint64
		n       int
	}
	var counts []count
	for rows.Next() {
		var version, n int64
		if err := rows.Scan(&version, &n); err != nil {
			return r, fmt.Errorf("policy rollout: %w", err)
		}
		counts = append(counts, count{uint64(version), int(n)})
		r.Total += int(n)
	}
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("policy rollout: %w", err)
	}
	// Sorted here, as unsigned numbers: an agent may have reported a
	// version that is stored as a negative number.
	slices.SortFunc(counts, func(a, b count) int { return cmp.Compare(a.version, b.version) })
	for _, c := range counts {
		r.versions = append(r.versions, c.version)
		r.counts = append(r.counts, c.n)
	}
	r.atLeast = make([]int, len(r.counts))
	sum := 0
	for i := len(r.counts) - 1; i >= 0; i-- {
		sum += r.counts[i]
		r.atLeast[i] = sum
	}
	return r, nil
}

// rolloutQuery is PolicyRollout's read.
const rolloutQuery = `SELECT policy_version, COUNT(*) FROM devices WHERE revoked_at = 0 GROUP BY policy_version`
