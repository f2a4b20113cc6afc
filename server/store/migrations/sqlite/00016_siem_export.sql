-- +goose Up
-- SIEM export (server/siem): how far each destination got, so the export
-- resumes after a restart. Events are exported per device in sequence order
-- (a device's events are stored in that order, so a per-device cursor misses
-- none); audit entries by id. lease_owner/lease_until: the replica that
-- exports to the destination now, so that one replica at a time does.
CREATE TABLE siem_cursors (
    destination TEXT PRIMARY KEY,
    audit_id    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE siem_device_cursors (
    destination TEXT NOT NULL REFERENCES siem_cursors(destination) ON DELETE CASCADE,
    device_id   TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (destination, device_id)
);

-- +goose Down
DROP TABLE siem_device_cursors;
DROP TABLE siem_cursors;
