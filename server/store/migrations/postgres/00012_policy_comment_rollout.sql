-- +goose Up
-- The change comment an administrator gives when publishing or rolling
-- back a policy ('' for versions published before comments were asked).
ALTER TABLE policies ADD COLUMN comment TEXT NOT NULL DEFAULT '';
-- Rollout status: the enrolled devices per applied policy version, read
-- from this index alone (no table rows) for any number of devices.
CREATE INDEX devices_rollout ON devices (revoked_at, policy_version);

-- +goose Down
DROP INDEX devices_rollout;
ALTER TABLE policies DROP COLUMN comment;
