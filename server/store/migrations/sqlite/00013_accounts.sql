-- +goose Up
-- Accounts (issue 17 item 4).
-- An account made by invitation has no password until its invite is used
-- (admins.password_hash = ''), and cannot log in before. An invite is a
-- single-use, expiring link; only the SHA-256 hash of its random token is
-- stored. used_at is when it was used (or superseded by a newer invite of
-- the same account), 0 if not.
CREATE TABLE admin_invites (
    id         TEXT PRIMARY KEY,
    hash       BLOB NOT NULL UNIQUE,
    username   TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX admin_invites_username ON admin_invites (username);

-- A new TOTP secret an account is enrolling (self-service reset, after
-- re-authentication), until a code of it is confirmed; '' if none.
ALTER TABLE admins ADD COLUMN totp_pending TEXT NOT NULL DEFAULT '';

-- API tokens: the account that made the token ('' for tokens made before
-- this migration or by the server itself), when it expires (0: never, only
-- tokens made before this migration) and when it was last used (recorded at
-- most once a minute; 0: never).
ALTER TABLE api_tokens ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN last_used_at;
ALTER TABLE api_tokens DROP COLUMN expires_at;
ALTER TABLE api_tokens DROP COLUMN owner;
ALTER TABLE admins DROP COLUMN totp_pending;
DROP INDEX admin_invites_username;
DROP TABLE admin_invites;
