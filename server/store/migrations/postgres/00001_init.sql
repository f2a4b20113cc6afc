-- +goose Up
-- The PostgreSQL twin of migrations/sqlite/00001_init.sql: same tables,
-- columns and meaning, so every query is shared. Times are Unix
-- microseconds (UTC) in BIGINT; flags (connected, running) are INTEGER 0/1
-- as on SQLite, so "running = 1" reads the same on both. Columns the store
-- sorts by use the "C" collation: byte order, as SQLite compares text.
CREATE TABLE enrollment_secrets (
    id          TEXT COLLATE "C" PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    hash        BYTEA NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL DEFAULT 0,
    revoked_at  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_tokens (
    id          TEXT COLLATE "C" PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    hash        BYTEA NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    hash        BYTEA PRIMARY KEY,
    subject     TEXT NOT NULL,
    role        TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE devices (
    id             TEXT COLLATE "C" PRIMARY KEY,
    hostname       TEXT COLLATE "C" NOT NULL,
    os             TEXT NOT NULL,
    os_version     TEXT NOT NULL DEFAULT '',
    arch           TEXT NOT NULL DEFAULT '',
    agent_version  TEXT NOT NULL DEFAULT '',
    secret_id      TEXT NOT NULL DEFAULT '',
    cert_serial    TEXT NOT NULL DEFAULT '',
    enrolled_at    BIGINT NOT NULL,
    last_seen      BIGINT NOT NULL DEFAULT 0,
    connected      INTEGER NOT NULL DEFAULT 0,
    policy_version BIGINT NOT NULL DEFAULT 0,
    last_seq       BIGINT NOT NULL DEFAULT 0,
    revoked_at     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE device_apps (
    device_id  TEXT COLLATE "C" NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    pid        INTEGER NOT NULL,
    started_at BIGINT NOT NULL,
    app_id     TEXT COLLATE "C" NOT NULL,
    name       TEXT NOT NULL,
    exe        TEXT NOT NULL DEFAULT '',
    verdict    TEXT NOT NULL,
    running    INTEGER NOT NULL,
    stopped_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, pid, started_at)
);
CREATE INDEX device_apps_app ON device_apps (device_id, app_id);

CREATE TABLE events (
    device_id   TEXT COLLATE "C" NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    type        TEXT COLLATE "C" NOT NULL,
    time        BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    payload     BYTEA NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX events_time ON events (time);
CREATE INDEX events_type ON events (type, time);

CREATE TABLE policies (
    version      BIGINT PRIMARY KEY,
    name         TEXT NOT NULL,
    document     BYTEA NOT NULL,
    signature    BYTEA NOT NULL,
    published_at BIGINT NOT NULL,
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
