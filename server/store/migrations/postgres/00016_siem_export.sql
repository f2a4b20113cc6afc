-- +goose Up
-- The PostgreSQL twin of migrations/sqlite/00016_siem_export.sql.
-- SIEM export (server/siem): how far each destination got, so the export
-- resumes after a restart. Events are exported per device in sequence order
-- (a device's events are stored in that order, so a per-device cursor misses
-- none); audit entries by id (audit inserts take a transaction advisory lock
-- on PostgreSQL, so ids become visible in order). lease_owner/lease_until:
-- the replica that exports to the destination now, so that one replica at a
-- time does.
CREATE TABLE siem_cursors (
    destination TEXT COLLATE "C" PRIMARY KEY,
    audit_id    BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE siem_device_cursors (
    destination TEXT COLLATE "C" NOT NULL REFERENCES siem_cursors(destination) ON DELETE CASCADE,
    device_id   TEXT COLLATE "C" NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (destination, device_id)
);

-- +goose Down
DROP TABLE siem_device_cursors;
DROP TABLE siem_cursors;
