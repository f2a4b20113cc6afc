-- +goose Up
-- Times are Unix microseconds (UTC) so the schema reads the same on SQLite
-- and PostgreSQL.
CREATE TABLE enrollment_secrets (
    id          TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    hash        BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL DEFAULT 0,
    revoked_at  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    hash        BLOB NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    hash        BLOB PRIMARY KEY,
    subject     TEXT NOT NULL,
    role        TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE devices (
    id             TEXT PRIMARY KEY,
    hostname       TEXT NOT NULL,
    os             TEXT NOT NULL,
    os_version     TEXT NOT NULL DEFAULT '',
    arch           TEXT NOT NULL DEFAULT '',
    agent_version  TEXT NOT NULL DEFAULT '',
    secret_id      TEXT NOT NULL DEFAULT '',
    cert_serial    TEXT NOT NULL DEFAULT '',
    enrolled_at    INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL DEFAULT 0,
    connected      INTEGER NOT NULL DEFAULT 0,
    policy_version INTEGER NOT NULL DEFAULT 0,
    last_seq       INTEGER NOT NULL DEFAULT 0,
    revoked_at     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE device_apps (
    device_id  TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    pid        INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    app_id     TEXT NOT NULL,
    name       TEXT NOT NULL,
    exe        TEXT NOT NULL DEFAULT '',
    verdict    TEXT NOT NULL,
    running    INTEGER NOT NULL,
    stopped_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, pid, started_at)
);
CREATE INDEX device_apps_app ON device_apps (device_id, app_id);

CREATE TABLE events (
    device_id   TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    time        INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    payload     BLOB NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX events_time ON events (time);
CREATE INDEX events_type ON events (type, time);

CREATE TABLE policies (
    version      INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    document     BLOB NOT NULL,
    signature    BLOB NOT NULL,
    published_at INTEGER NOT NULL,
    published_by TEXT NOT NULL
);

-- +goose Down
DROP TABLE policies;
DROP TABLE events;
DROP TABLE device_apps;
DROP TABLE devices;
DROP TABLE sessions;
DROP TABLE api_tokens;
DROP TABLE enrollment_secrets;
