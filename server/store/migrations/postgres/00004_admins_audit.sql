-- +goose Up
-- The PostgreSQL twin of migrations/sqlite/00004_admins_audit.sql.
CREATE TABLE admins (
    id            TEXT COLLATE "C" PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    totp_secret   TEXT NOT NULL,
    totp_counter  BIGINT NOT NULL DEFAULT 0,
    role          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    disabled_at   BIGINT NOT NULL DEFAULT 0,
    last_login    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE login_failures (
    key          TEXT COLLATE "C" PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT COLLATE "C" NOT NULL,
    action      TEXT COLLATE "C" NOT NULL,
    target      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{}',
    remote_addr TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE INDEX sessions_subject ON sessions (subject);

-- +goose Down
DROP INDEX sessions_subject;
DROP TABLE audit_log;
DROP TABLE login_failures;
DROP TABLE admins;
