package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CatalogVersion is one published catalog: the canonical encoding of a
// policies.CatalogBundle, signed with the policy key.
type CatalogVersion struct {
	Version   uint64
	Bundle    []byte
	Signature []byte
	// Apps is how many entries the catalog has.
	Apps        int
	Published   time.Time
	PublishedBy string
}

// ErrCatalogNotNewer refuses a catalog version that is not above the
// newest stored one: agents refuse it too.
var ErrCatalogNotNewer = errors.New("catalog version is not newer than the current one")

// PublishCatalog stores c (its Version is the catalog's own number) and its
// audit entry in one transaction, refusing (ErrCatalogNotNewer) a version
// not above the newest stored; the entry's Target is set to
// "catalog:VERSION". sign is called inside the transaction.
func (s *Store) PublishCatalog(ctx context.Context, c CatalogVersion, sign func(version uint64, bundle []byte) []byte, audit AuditEntry) (CatalogVersion, error) {
	_, err := s.storeCatalog(ctx, &c, sign, audit, false)
	return c, err
}

// SeedCatalog stores c, as PublishCatalog does, unless a version at or
// above it is stored already (a server started from an older binary, or a
// version published since): then it stores nothing and reports false.
func (s *Store) SeedCatalog(ctx context.Context, c CatalogVersion, sign func(version uint64, bundle []byte) []byte, audit AuditEntry) (CatalogVersion, bool, error) {
	stored, err := s.storeCatalog(ctx, &c, sign, audit, true)
	return c, stored, err
}

func (s *Store) storeCatalog(ctx context.Context, c *CatalogVersion, sign func(uint64, []byte) []byte, audit AuditEntry, seed bool) (bool, error) {
	if c.Version == 0 || c.Version > 1<<63-1 {
		return false, fmt.Errorf("catalog version %d: not a catalog version", c.Version)
	}
	c.Published = c.Published.UTC().Truncate(time.Microsecond)
	stored := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Publishers take turns (see PublishPolicy).
		if s.dialect == dialectPostgres {
			if _, err := tx.ExecContext(ctx, `LOCK TABLE catalogs IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return fmt.Errorf("lock catalogs for publishing: %w", err)
			}
		}
		var max sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM catalogs`).Scan(&max); err != nil {
			return fmt.Errorf("read newest catalog version: %w", err)
		}
		if uint64(max.Int64) >= c.Version {
			if seed {
				return nil
			}
			return fmt.Errorf("%w: version %d, the current one is %d; raise the number in the catalog's VERSION file above %d",
				ErrCatalogNotNewer, c.Version, max.Int64, max.Int64)
		}
		c.Signature = sign(c.Version, c.Bundle)
		if _, err := tx.ExecContext(ctx, `INSERT INTO catalogs (version, bundle, signature, apps, published_at, published_by)
			VALUES ($1, $2, $3, $4, $5, $6)`, int64(c.Version), c.Bundle, c.Signature, c.Apps, micros(c.Published), c.PublishedBy); err != nil {
			return fmt.Errorf("store catalog version %d: %w", c.Version, err)
		}
		audit.Target = fmt.Sprintf("catalog:%d", c.Version)
		if err := appendAudit(ctx, tx, s.dialect, audit); err != nil {
			return err
		}
		stored = true
		// Sent on commit: every replica pushes the version to its streams.
		return s.notify(ctx, tx, Notice{Kind: NoticeCatalog, Version: c.Version})
	})
	return stored, err
}

const catalogColumns = `version, bundle, signature, apps, published_at, published_by`

func scanCatalog(row interface{ Scan(...any) error }, withBundle bool) (CatalogVersion, error) {
	var c CatalogVersion
	var version, apps, published int64
	var bundle, signature []byte
	if err := row.Scan(&version, &bundle, &signature, &apps, &published, &c.PublishedBy); err != nil {
		return c, err
	}
	c.Version, c.Apps, c.Published = uint64(version), int(apps), fromMicros(published)
	if withBundle {
		c.Bundle, c.Signature = bundle, signature
	}
	return c, nil
}

// CurrentCatalog returns the newest catalog version, ErrNotFound if none.
func (s *Store) CurrentCatalog(ctx context.Context) (CatalogVersion, error) {
	c, err := scanCatalog(s.db.QueryRowContext(ctx, `SELECT `+catalogColumns+` FROM catalogs ORDER BY version DESC LIMIT 1`), true)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("current catalog: %w", ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("current catalog: %w", err)
	}
	return c, nil
}

// CurrentCatalogVersion returns the newest catalog's number, 0 if none.
func (s *Store) CurrentCatalogVersion(ctx context.Context) (uint64, error) {
	var max sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM catalogs`).Scan(&max); err != nil {
		return 0, fmt.Errorf("current catalog version: %w", err)
	}
	return uint64(max.Int64), nil
}

// Catalog returns one catalog version.
func (s *Store) Catalog(ctx context.Context, version uint64) (CatalogVersion, error) {
	c, err := scanCatalog(s.db.QueryRowContext(ctx, `SELECT `+catalogColumns+` FROM catalogs WHERE version = $1`, int64(version)), true)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("catalog version %d: %w", version, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("catalog version %d: %w", version, err)
	}
	return c, nil
}

// MaxCatalogList bounds Catalogs.
const MaxCatalogList = 100

// Catalogs lists the newest MaxCatalogList versions, newest first, without
// their bundles and signatures.
func (s *Store) Catalogs(ctx context.Context) ([]CatalogVersion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+catalogColumns+` FROM catalogs ORDER BY version DESC LIMIT $1`, MaxCatalogList)
	if err != nil {
		return nil, fmt.Errorf("list catalogs: %w", err)
	}
	defer rows.Close()
	var out []CatalogVersion
	for rows.Next() {
		c, err := scanCatalog(rows, false)
		if err != nil {
			return nil, fmt.Errorf("list catalogs: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SetDeviceCatalogVersion records the catalog version a device reported
// it uses.
func (s *Store) SetDeviceCatalogVersion(ctx context.Context, id string, version uint64) error {
	if version > 1<<63-1 {
		return fmt.Errorf("device %s: catalog version %d is above 2^63-1", id, version)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET catalog_version = $1 WHERE id = $2`, int64(version), id); err != nil {
			return fmt.Errorf("device %s: record catalog version: %w", id, err)
		}
		return nil
	})
}
