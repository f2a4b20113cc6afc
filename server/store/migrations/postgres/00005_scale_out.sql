-- +goose Up
-- The PostgreSQL twin of migrations/sqlite/00005_scale_out.sql.
-- Device groups: an enrollment secret belongs to a group and every device
-- enrolled with it joins that group ("" is no group).
ALTER TABLE enrollment_secrets ADD COLUMN device_group TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN device_group TEXT NOT NULL DEFAULT '';

-- The keys every replica must share: the CA (certificate and key) and the
-- policy-signing key. private_key is PEM, sealed with the key-encryption
-- key when the server runs with --kek-file. The first replica to start
-- inserts them; the others read them back.
CREATE TABLE server_keys (
    name        TEXT COLLATE "C" PRIMARY KEY,
    certificate BYTEA NOT NULL,
    private_key BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE server_keys;
ALTER TABLE devices DROP COLUMN device_group;
ALTER TABLE enrollment_secrets DROP COLUMN device_group;
