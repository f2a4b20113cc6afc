package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// Device is an enrolled laptop.
type Device struct {
	ID            string
	Hostname      string
	OS            string
	OSVersion     string
	Arch          string
	AgentVersion  string
	SecretID      string
	CertSerial    string
	Enrolled      time.Time
	LastSeen      time.Time
	Connected     bool
	PolicyVersion uint64
	// CatalogVersion is the catalog version the agent reported it uses;
	// 0 when it did not (an agent older than catalog updates).
	CatalogVersion uint64
	LastSeq        uint64
	Revoked        time.Time
	// Group is the device group, from the enrollment secret; "" is none.
	Group string
	// Apps are its app instances, running first; Device loads at most
	// MaxDeviceApps of them (AppsTotal counts them all).
	Apps []DeviceApp
	// Media are the cameras and microphones in use now; Device loads at
	// most MaxDeviceMedia of them (MediaTotal counts them all).
	Media []DeviceMedia
	// AppsTotal and MediaTotal are set by Device: how many rows there are,
	// whether or not all were loaded.
	AppsTotal, MediaTotal int
}

// Caps of one device's detail (Device).
const (
	MaxDeviceApps  = 500
	MaxDeviceMedia = 100
)

// AppsTruncated reports whether Device left out some of the apps.
func (d Device) AppsTruncated() bool { return d.AppsTotal > len(d.Apps) }

// MediaTruncated reports whether Device left out some of the media rows.
func (d Device) MediaTruncated() bool { return d.MediaTotal > len(d.Media) }

// DeviceMedia is a camera or microphone in use on a device.
type DeviceMedia struct {
	Kind     string // camera or microphone
	Source   string
	Device   string
	PID      int32
	Process  string
	AppID    string // "" for a process of no catalog app
	Category string
	Session  string
	Since    time.Time
}

// Online reports whether the device holds a stream and was heard from
// within staleAfter of now.
func (d Device) Online(now time.Time, staleAfter time.Duration) bool {
	return d.Connected && now.Sub(d.LastSeen) < staleAfter
}

// DeviceApp is one instance of a catalog app on a device, running or
// stopped (the last stopped instance of each app is kept).
type DeviceApp struct {
	AppID   string
	Name    string
	PID     int32
	Exe     string
	Verdict string
	// Version is the app's version, "" when the agent could not read it.
	Version string
	// Verified is set when the agent proved the executable genuine.
	Verified bool
	// Identity says how the agent proved it, or why it could not.
	Identity string
	Running  bool
	Started  time.Time
	Stopped  time.Time
}

// CreateDevice stores a newly enrolled device.
func (s *Store) CreateDevice(ctx context.Context, d Device) error {
	return insertDevice(ctx, s.db, d)
}

// insertDevice adds d through q (the database or a transaction).
func insertDevice(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, d Device) error {
	_, err := q.ExecContext(ctx, `INSERT INTO devices
		(id, hostname, os, os_version, arch, agent_version, secret_id, cert_serial, enrolled_at, device_group)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		d.ID, d.Hostname, d.OS, d.OSVersion, d.Arch, d.AgentVersion, d.SecretID, d.CertSerial, micros(d.Enrolled), d.Group)
	if err != nil {
		return fmt.Errorf("create device %s: %w", d.ID, err)
	}
	return nil
}

const deviceColumns = `id, hostname, os, os_version, arch, agent_version, secret_id, cert_serial,
	enrolled_at, last_seen, connected, policy_version, last_seq, revoked_at, device_group, catalog_version`

func scanDevice(row interface{ Scan(...any) error }) (Device, error) {
	var d Device
	var enrolled, lastSeen, revoked int64
	var connected int
	var policyVersion, lastSeq, catalogVersion int64
	err := row.Scan(&d.ID, &d.Hostname, &d.OS, &d.OSVersion, &d.Arch, &d.AgentVersion, &d.SecretID, &d.CertSerial,
		&enrolled, &lastSeen, &connected, &policyVersion, &lastSeq, &revoked, &d.Group, &catalogVersion)
	if err != nil {
		return d, err
	}
	d.Enrolled, d.LastSeen, d.Revoked = fromMicros(enrolled), fromMicros(lastSeen), fromMicros(revoked)
	d.Connected = connected != 0
	d.PolicyVersion, d.LastSeq, d.CatalogVersion = uint64(policyVersion), uint64(lastSeq), uint64(catalogVersion)
	return d, nil
}

// DeviceRecord returns one device without its apps and media.
func (s *Store) DeviceRecord(ctx context.Context, id string) (Device, error) {
	d, err := scanDevice(s.db.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("device %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("device %s: %w", id, err)
	}
	return d, nil
}

// Device returns one device with at most MaxDeviceApps apps (running
// first) and MaxDeviceMedia media rows, and how many of each it has.
func (s *Store) Device(ctx context.Context, id string) (Device, error) {
	d, err := s.DeviceRecord(ctx, id)
	if err != nil {
		return d, err
	}
	apps, err := s.apps(ctx, `WHERE device_id = $1`, fmt.Sprint(MaxDeviceApps), id)
	if err != nil {
		return d, err
	}
	d.Apps = apps[id]
	media, err := s.media(ctx, `WHERE device_id = $1`, fmt.Sprint(MaxDeviceMedia), id)
	if err != nil {
		return d, err
	}
	d.Media = media[id]
	d.AppsTotal, d.MediaTotal = len(d.Apps), len(d.Media)
	if len(d.Apps) == MaxDeviceApps {
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM device_apps WHERE device_id = $1`, id).Scan(&d.AppsTotal); err != nil {
			return d, fmt.Errorf("count apps of %s: %w", id, err)
		}
	}
	if len(d.Media) == MaxDeviceMedia {
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM device_media WHERE device_id = $1`, id).Scan(&d.MediaTotal); err != nil {
			return d, fmt.Errorf("count media of %s: %w", id, err)
		}
	}
	return d, nil
}

// Devices returns every device with every app and media row, ordered by
// hostname. It is unbounded: for tests and offline tools only; request
// paths use ListDevices, CountFleet and the other bounded reads.
func (s *Store) Devices(ctx context.Context) ([]Device, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deviceColumns+` FROM devices ORDER BY hostname, id`)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	apps, err := s.apps(ctx, "", "")
	if err != nil {
		return nil, err
	}
	media, err := s.media(ctx, "", "")
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Apps = apps[out[i].ID]
		out[i].Media = media[out[i].ID]
		out[i].AppsTotal, out[i].MediaTotal = len(out[i].Apps), len(out[i].Media)
	}
	return out, nil
}

// media lists media rows matching where, at most limit ("" for no limit)
// of them.
func (s *Store) media(ctx context.Context, where, limit string, args ...any) (map[string][]DeviceMedia, error) {
	if limit != "" {
		limit = " LIMIT " + limit
	}
	rows, err := s.db.QueryContext(ctx, `SELECT device_id, kind, source, device, pid, process, app_id, category, session, since
		FROM device_media `+where+` ORDER BY device_id, kind, pid, source, device`+limit, args...)
	if err != nil {
		return nil, fmt.Errorf("list device media: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]DeviceMedia)
	for rows.Next() {
		var dev string
		var m DeviceMedia
		var since int64
		if err := rows.Scan(&dev, &m.Kind, &m.Source, &m.Device, &m.PID, &m.Process, &m.AppID, &m.Category, &m.Session, &since); err != nil {
			return nil, fmt.Errorf("list device media: %w", err)
		}
		m.Since = fromMicros(since)
		out[dev] = append(out[dev], m)
	}
	return out, rows.Err()
}

// apps lists app rows matching where, at most limit ("" for no limit) of
// them.
func (s *Store) apps(ctx context.Context, where, limit string, args ...any) (map[string][]DeviceApp, error) {
	if limit != "" {
		limit = " LIMIT " + limit
	}
	rows, err := s.db.QueryContext(ctx, `SELECT device_id, app_id, name, pid, exe, verdict, version, verified, identity, running, started_at, stopped_at
		FROM device_apps `+where+` ORDER BY device_id, running DESC, app_id, started_at`+limit, args...)
	if err != nil {
		return nil, fmt.Errorf("list device apps: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]DeviceApp)
	for rows.Next() {
		var dev string
		var a DeviceApp
		var running, verified int
		var started, stopped int64
		if err := rows.Scan(&dev, &a.AppID, &a.Name, &a.PID, &a.Exe, &a.Verdict, &a.Version, &verified, &a.Identity, &running, &started, &stopped); err != nil {
			return nil, fmt.Errorf("list device apps: %w", err)
		}
		a.Verified = verified != 0
		a.Running, a.Started, a.Stopped = running != 0, fromMicros(started), fromMicros(stopped)
		out[dev] = append(out[dev], a)
	}
	return out, rows.Err()
}

// StoredEvent is an event as stored.
type StoredEvent struct {
	DeviceID string
	Seq      uint64
	Type     string
	Time     time.Time
	Received time.Time
	Event    *vcguardv1.Event
}

// EventFilter selects events.
type EventFilter struct {
	DeviceID string // empty: all devices
	Type     string // empty: all types
	// Limit caps the events: 0 means DefaultEventLimit, at most
	// MaxEventLimit.
	Limit int
	// Before returns only events older than this key (the next page).
	Before *EventKey
	// MaxBytes caps the payload bytes loaded: 0 means DefaultEventBytes.
	MaxBytes int
}

// Events lists one page of events, newest first (see ListEvents, which
// also returns the cursor of the next page).
func (s *Store) Events(ctx context.Context, f EventFilter) ([]StoredEvent, error) {
	page, err := s.ListEvents(ctx, f)
	return page.Events, err
}
