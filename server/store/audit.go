package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// AuditEntry is one recorded change or login: who (an admin's username,
// "token:ID" for an API token, or "system"), what (Action, e.g.
// "policy_publish", on Target), when and from where.
type AuditEntry struct {
	ID         int64
	At         time.Time
	Actor      string
	Action     string
	Target     string
	Detail     json.RawMessage // a JSON object; nil is stored as {}
	RemoteAddr string
}

// AppendAudit records an entry that goes with no change of its own (a
// login, a failed login); ID is assigned by the store. Changes record
// their entry inside their own transaction (the store functions that take
// an AuditEntry), so a change is never without its entry.
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry) error {
	if s.dialect != dialectPostgres {
		return appendAudit(ctx, s.db, s.dialect, e)
	}
	// A transaction of its own, for the audit order lock (siem.go).
	return s.tx(ctx, func(tx *sql.Tx) error { return appendAudit(ctx, tx, s.dialect, e) })
}

// execer is a transaction or a database.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// appendAudit records e within tx: if it fails, the change fails with it.
// On PostgreSQL it first takes the audit order lock (siem.go), held to the
// end of tx: call it late in a transaction.
func appendAudit(ctx context.Context, tx execer, d dialect, e AuditEntry) error {
	if e.Action == "" {
		return fmt.Errorf("append audit entry: no action")
	}
	detail := string(e.Detail)
	if detail == "" {
		detail = "{}"
	}
	if !json.Valid([]byte(detail)) {
		return fmt.Errorf("append audit entry %s: detail is not JSON", e.Action)
	}
	if err := lockAuditOrder(ctx, tx, d); err != nil {
		return fmt.Errorf("append audit entry %s: %w", e.Action, err)
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO audit_log (at, actor, action, target, detail, remote_addr) VALUES ($1, $2, $3, $4, $5, $6)`,
		micros(e.At), e.Actor, e.Action, e.Target, detail, e.RemoteAddr)
	if err != nil {
		return fmt.Errorf("append audit entry %s: %w", e.Action, err)
	}
	return nil
}

// MaxAuditLimit is the most audit entries one read returns.
const MaxAuditLimit = 1000

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	Actor  string
	Action string
	// Before returns only entries with a smaller ID (paging back).
	Before int64
	// Limit caps the number of entries; 0 means MaxAuditLimit, and at most
	// MaxAuditLimit+1 are returned.
	Limit int
}

// AuditLog returns entries, newest first.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Actor != "" {
		add("actor = $%d", f.Actor)
	}
	if f.Action != "" {
		add("action = $%d", f.Action)
	}
	if f.Before > 0 {
		add("id < $%d", f.Before)
	}
	q := `SELECT id, at, actor, action, target, detail, remote_addr FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = MaxAuditLimit
	}
	// One more than the most a caller shows, so it can tell whether more
	// follow.
	limit = min(limit, MaxAuditLimit+1)
	args = append(args, limit)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		var detail string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &detail, &e.RemoteAddr); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.At, e.Detail = fromMicros(at), json.RawMessage(detail)
		out = append(out, e)
	}
	return out, rows.Err()
}
