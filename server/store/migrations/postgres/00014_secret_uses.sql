-- +goose Up
-- An enrollment secret may be limited to a number of enrollments
-- (max_uses, 0: no limit); uses counts the devices enrolled with it, taken
-- in the enrollment's own transaction.
ALTER TABLE enrollment_secrets ADD COLUMN max_uses BIGINT NOT NULL DEFAULT 0;
ALTER TABLE enrollment_secrets ADD COLUMN uses BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE enrollment_secrets DROP COLUMN uses;
ALTER TABLE enrollment_secrets DROP COLUMN max_uses;
