package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/proto"
)

// This file is the write path of agent streams: connect, disconnect,
// heartbeats and event ingest.

// Every write below is committed by the Store's writer goroutine together
// with other streams' writes (see writer.go); each caller still waits for,
// and gets, its own result.

// DeviceConnected records that a device opened a stream and what it said in
// its hello. A hostname other than the stored one is recorded in the audit
// log (actor "device:ID", action "device_hostname_change") in the same
// transaction: a device can claim another's name, and IT should see when
// one did.
func (s *Store) DeviceConnected(ctx context.Context, id string, info *vcguardv1.DeviceInfo, now time.Time) error {
	o := s.w.submit(ctx, &request{kind: reqConnect, device: id, info: info, now: now})
	if o.err != nil {
		return fmt.Errorf("device %s connected: %w", id, o.err)
	}
	return nil
}

// DeviceDisconnected records that a device's stream ended.
func (s *Store) DeviceDisconnected(ctx context.Context, id string, now time.Time) error {
	o := s.w.submit(ctx, &request{kind: reqDisconnect, device: id, now: now})
	if o.err != nil {
		return fmt.Errorf("device %s disconnected: %w", id, o.err)
	}
	return nil
}

// TouchDevice records that a device was heard from. Heartbeats are
// coalesced in memory and committed with the next group of writes, so they
// never queue behind ingest; TouchDevice returns once its time is stored.
func (s *Store) TouchDevice(ctx context.Context, id string, now time.Time) error {
	if err := s.w.touch(ctx, id, now); err != nil {
		return fmt.Errorf("touch device %s: %w", id, err)
	}
	return nil
}

// EventType names an event for storage and filtering (vcguardv1.EventType,
// the list the agent shares).
func EventType(e *vcguardv1.Event) string { return vcguardv1.EventType(e) }

// VerdictName is the stored and displayed name of a verdict.
func VerdictName(v vcguardv1.Verdict) string { return string(policies.VerdictFromProto(v)) }

// IngestEvents stores a batch of a device's events and applies them to the
// device's state in one transaction. Events at or below the device's last
// stored sequence number are skipped, so a resent batch changes nothing. It
// returns the highest sequence number now stored.
//
// An event is always stored; a change of state it asks for beyond the
// per-device caps (MaxRunningApps, MaxMediaRows, MaxConnectionApps,
// MaxConnectionItems, MaxConnectionValue) is not applied, and reported
// through Store.Refused.
func (s *Store) IngestEvents(ctx context.Context, deviceID string, events []*vcguardv1.Event, now time.Time) (uint64, error) {
	// Checked and encoded here, in the caller's goroutine: a bad batch is
	// refused before it is queued, and the writer only writes.
	blobs := make([][]byte, len(events))
	for i, e := range events {
		if e.GetSeq() > math.MaxInt64 {
			// Stored as a signed 64-bit integer it would turn negative,
			// and every later event of the device would look resent.
			return 0, fmt.Errorf("ingest: event sequence number %d of %s is above the store's range (2^63-1): %w", e.GetSeq(), deviceID, ErrInvalidEvent)
		}
		b, err := proto.Marshal(e)
		if err != nil {
			return 0, fmt.Errorf("ingest: encode event %d of %s: %w", e.GetSeq(), deviceID, err)
		}
		blobs[i] = b
	}
	o := s.w.submit(ctx, &request{kind: reqIngest, device: deviceID, events: events, blobs: blobs, now: now})
	return o.last, o.err
}

// Per-device state caps. A device reports what runs on it and what uses its
// camera and microphone; a broken or hostile agent could report without end
// (an app "started" under a new PID each time) and make every write of the
// device slower. Past a cap the event is still stored, but the state change
// it asks for is refused and reported with its reason.
const (
	// MaxRunningApps is how many running app instances a device may have.
	MaxRunningApps = 256
	// MaxMediaRows is how many cameras and microphones in use a device may
	// have.
	MaxMediaRows = 64
	// maxAppRows bounds a device's running and stopped instances together:
	// the oldest stopped instance makes room for a new one.
	maxAppRows = 2 * MaxRunningApps
)

// Reasons passed to Store.Refused.
const (
	RefusedRunningApps = "device_running_apps"
	RefusedMediaRows   = "device_media_rows"
)

// MaxClockSkew is how far in the future an event's time may lie, by the
// server's clock, before it is stored as received: an agent's clock runs a
// little fast, a hostile one dates its events in the year 9999 to sit on top
// of every list and escape retention for ever. The event itself (payload)
// keeps the time the agent sent.
const MaxClockSkew = 10 * time.Minute

// eventTime is the time an event is stored and purged by.
func eventTime(e *vcguardv1.Event, received time.Time) time.Time {
	at := e.GetTime().AsTime()
	if at.After(received.Add(MaxClockSkew)) {
		return received
	}
	return at
}
