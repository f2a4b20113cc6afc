package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/proto"
)

// LatestEventTypes are the event types whose newest event per device the
// store points at (device_latest_events) as it ingests, for LatestEvent:
// rare events whose last one is state the device page shows, however many
// events came after.
var LatestEventTypes = []string{"browser_policy"}

const sqlLatestEvent = `INSERT INTO device_latest_events (device_id, type, seq, received_at) VALUES ($1, $2, $3, $4)
	ON CONFLICT (device_id, type) DO UPDATE SET seq = excluded.seq, received_at = excluded.received_at`

// latest points at e as its device's newest event of its type, when the
// type is one of LatestEventTypes. One row per device and type: bounded.
func (g *group) latest(device string, e *vcguardv1.Event, received int64) error {
	typ := EventType(e)
	if !slices.Contains(LatestEventTypes, typ) {
		return nil
	}
	_, err := g.exec(sqlLatestEvent, device, typ, int64(e.GetSeq()), received)
	return err
}

// LatestEvent returns a device's newest stored event of typ, one of
// LatestEventTypes, through the primary keys; ErrNotFound when there is
// none (never sent, or purged by retention).
func (s *Store) LatestEvent(ctx context.Context, deviceID, typ string) (StoredEvent, error) {
	var e StoredEvent
	if !slices.Contains(LatestEventTypes, typ) {
		return e, fmt.Errorf("latest %s event of %s: the store keeps the newest only of %v", typ, deviceID, LatestEventTypes)
	}
	var seq, at, received int64
	var payload []byte
	err := s.db.QueryRowContext(ctx, `SELECT e.device_id, e.seq, e.type, e.time, e.received_at, e.payload
		FROM device_latest_events l JOIN events e ON e.device_id = l.device_id AND e.seq = l.seq
		WHERE l.device_id = $1 AND l.type = $2`, deviceID, typ).Scan(&e.DeviceID, &seq, &e.Type, &at, &received, &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("latest %s event of %s: %w", typ, deviceID, err)
	}
	e.Seq, e.Time, e.Received = uint64(seq), fromMicros(at), fromMicros(received)
	e.Event = new(vcguardv1.Event)
	if err := proto.Unmarshal(payload, e.Event); err != nil {
		return e, fmt.Errorf("decode stored event %s/%d: %w", e.DeviceID, e.Seq, err)
	}
	return e, nil
}
