-- +goose Up
-- Dashboard administrators. password_hash is an argon2id PHC string;
-- totp_secret is the base32 TOTP secret as is (the database is owner-only
-- and never leaves the server; the store never logs it). totp_counter is the
-- last TOTP time step used to log in, so a code is accepted once.
CREATE TABLE admins (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    totp_secret   TEXT NOT NULL,
    totp_counter  INTEGER NOT NULL DEFAULT 0,
    role          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER NOT NULL DEFAULT 0,
    last_login    INTEGER NOT NULL DEFAULT 0
);

-- Failed logins per key ("user:NAME" or "ip:ADDR"), shared by every
-- replica: consecutive failures, the lockout they caused, and when the last
-- one happened (failures older than a day are forgotten).
CREATE TABLE login_failures (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
);

-- Who changed what, when and from where. detail is a JSON object.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
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
