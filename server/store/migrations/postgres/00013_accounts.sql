-- +goose Up
-- The PostgreSQL twin of migrations/sqlite/00013_accounts.sql.
CREATE TABLE admin_invites (
    id         TEXT COLLATE "C" PRIMARY KEY,
    hash       BYTEA NOT NULL UNIQUE,
    username   TEXT COLLATE "C" NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX admin_invites_username ON admin_invites (username);

ALTER TABLE admins ADD COLUMN totp_pending TEXT NOT NULL DEFAULT '';

ALTER TABLE api_tokens ADD COLUMN owner TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN last_used_at;
ALTER TABLE api_tokens DROP COLUMN expires_at;
ALTER TABLE api_tokens DROP COLUMN owner;
ALTER TABLE admins DROP COLUMN totp_pending;
DROP INDEX admin_invites_username;
DROP TABLE admin_invites;
