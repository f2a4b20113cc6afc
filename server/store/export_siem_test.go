package store

import "context"

// HoldAudit appends e in a transaction it leaves open, as a change still
// running would; the returned function commits it.
func HoldAudit(ctx context.Context, s *Store, e AuditEntry) (commit func() error, err error) {
	tx, err := s.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if err := appendAudit(ctx, tx, s.dialect, e); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx.Commit, nil
}
