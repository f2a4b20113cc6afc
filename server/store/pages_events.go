package store

import (
	"context"
	"fmt"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/proto"
)

// Bounds of an events page.
const (
	// DefaultEventLimit is the page size when none is asked for.
	DefaultEventLimit = 100
	// MaxEventLimit is the largest page.
	MaxEventLimit = 1000
	// DefaultEventBytes is how many payload bytes a page loads at most:
	// the page ends before the event that would cross it (a page holds at
	// least one event).
	DefaultEventBytes = 4 << 20
)

// EventKey is a position in the event list, which is ordered newest first
// by (time, device id, sequence number).
type EventKey struct {
	Time     time.Time
	DeviceID string
	Seq      uint64
}

// String is the key as an opaque cursor.
func (k EventKey) String() string { return encodeCursor("e", micros(k.Time), k.DeviceID, k.Seq) }

// ParseEventKey reads a cursor made by EventKey.String.
func ParseEventKey(s string) (EventKey, error) {
	var k EventKey
	var at int64
	if err := decodeCursor(s, "e", &at, &k.DeviceID, &k.Seq); err != nil {
		return k, err
	}
	k.Time = fromMicros(at)
	return k, nil
}

// EventPage is one page of events, newest first.
type EventPage struct {
	Events []StoredEvent
	// Next is the key to pass as EventFilter.Before for the following
	// (older) page; nil at the end.
	Next *EventKey
	// ByteCapped is set when the page ended at MaxBytes rather than at its
	// row limit.
	ByteCapped bool
}

// ListEvents returns one page of events, newest first: at most f.Limit
// (DefaultEventLimit when 0, at most MaxEventLimit) and at most f.MaxBytes
// of payloads (DefaultEventBytes when 0).
func (s *Store) ListEvents(ctx context.Context, f EventFilter) (EventPage, error) {
	var page EventPage
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultEventLimit
	}
	limit = min(limit, MaxEventLimit)
	maxBytes := f.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultEventBytes
	}
	var w where
	if f.DeviceID != "" {
		w.add(`device_id = $%d`, f.DeviceID)
	}
	if f.Type != "" {
		w.add(`type = $%d`, f.Type)
	}
	if f.Before != nil {
		at, dev, seq := micros(f.Before.Time), f.Before.DeviceID, int64(min(f.Before.Seq, 1<<63-1))
		w.args = append(w.args, at, dev, seq)
		n := len(w.args)
		// time <= $t first, so the time index bounds the scan.
		w.conds = append(w.conds, fmt.Sprintf(`time <= $%d AND (time < $%d OR device_id < $%d OR (device_id = $%d AND seq < $%d))`,
			n-2, n-2, n-1, n-1, n))
	}
	args := append(w.args, limit+1)
	rows, err := s.db.QueryContext(ctx, `SELECT device_id, seq, type, time, received_at, payload FROM events`+w.sql()+
		fmt.Sprintf(` ORDER BY time DESC, device_id DESC, seq DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return page, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	loaded := 0
	for rows.Next() {
		var e StoredEvent
		var seq, at, received int64
		var payload []byte
		if err := rows.Scan(&e.DeviceID, &seq, &e.Type, &at, &received, &payload); err != nil {
			return page, fmt.Errorf("list events: %w", err)
		}
		e.Seq, e.Time, e.Received = uint64(seq), fromMicros(at), fromMicros(received)
		if len(page.Events) == limit {
			page.Next = lastEventKey(page.Events)
			break
		}
		if len(page.Events) > 0 && loaded+len(payload) > maxBytes {
			page.Next, page.ByteCapped = lastEventKey(page.Events), true
			break
		}
		loaded += len(payload)
		e.Event = new(vcguardv1.Event)
		if err := proto.Unmarshal(payload, e.Event); err != nil {
			return page, fmt.Errorf("decode stored event %s/%d: %w", e.DeviceID, e.Seq, err)
		}
		page.Events = append(page.Events, e)
	}
	return page, rows.Err()
}

func lastEventKey(events []StoredEvent) *EventKey {
	e := events[len(events)-1]
	return &EventKey{Time: e.Time, DeviceID: e.DeviceID, Seq: e.Seq}
}

// EventCount counts the events stored for a device.
func (s *Store) EventCount(ctx context.Context, deviceID string) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE device_id = $1`, deviceID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events of %s: %w", deviceID, err)
	}
	return n, nil
}
