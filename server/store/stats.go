package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/proto"
)

// EventsSince lists the events of type typ that happened at or after since,
// oldest first, at most limit of them (0: 10000).
func (s *Store) EventsSince(ctx context.Context, typ string, since time.Time, limit int) ([]StoredEvent, error) {
	if limit <= 0 {
		limit = 10000
	}
	var out []StoredEvent
	err := s.EachEventSince(ctx, typ, since, limit, func(e StoredEvent) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

// EachEventSince calls fn with each event of type typ that happened at or
// after since, oldest first, at most limit of them, one at a time: the
// dashboard's charts count them without holding them.
func (s *Store) EachEventSince(ctx context.Context, typ string, since time.Time, limit int, fn func(StoredEvent) error) error {
	return s.EachEventOfTypesSince(ctx, []string{typ}, since, limit, fn)
}

// EachEventOfTypesSince calls fn with each event of one of the types that
// happened at or after since, in the order they happened (by time, then
// device and sequence number), at most limit of them, one at a time. With
// no type it calls fn for none.
func (s *Store) EachEventOfTypesSince(ctx context.Context, types []string, since time.Time, limit int, fn func(StoredEvent) error) error {
	if len(types) == 0 {
		return nil
	}
	what := strings.Join(types, ", ")
	args := make([]any, 0, len(types)+2)
	marks := make([]string, 0, len(types))
	for _, t := range types {
		args = append(args, t)
		marks = append(marks, "$"+strconv.Itoa(len(args)))
	}
	args = append(args, micros(since), limit)
	rows, err := s.db.QueryContext(ctx, `SELECT device_id, seq, type, time, received_at, payload FROM events
		WHERE type IN (`+strings.Join(marks, ", ")+`) AND time >= $`+strconv.Itoa(len(types)+1)+`
		ORDER BY time, device_id, seq LIMIT $`+strconv.Itoa(len(types)+2), args...)
	if err != nil {
		return fmt.Errorf("list %s events since %s: %w", what, since.Format(time.RFC3339), err)
	}
	defer rows.Close()
	for rows.Next() {
		var e StoredEvent
		var seq, at, received int64
		var payload []byte
		if err := rows.Scan(&e.DeviceID, &seq, &e.Type, &at, &received, &payload); err != nil {
			return fmt.Errorf("list %s events: %w", what, err)
		}
		e.Seq, e.Time, e.Received = uint64(seq), fromMicros(at), fromMicros(received)
		e.Event = new(vcguardv1.Event)
		if err := proto.Unmarshal(payload, e.Event); err != nil {
			return fmt.Errorf("decode stored event %s/%d: %w", e.DeviceID, e.Seq, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CountEventsSince counts the events of type typ that happened at or after
// since.
func (s *Store) CountEventsSince(ctx context.Context, typ string, since time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE type = $1 AND time >= $2`, typ, micros(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count %s events since %s: %w", typ, since.Format(time.RFC3339), err)
	}
	return n, nil
}
