-- +goose Up
-- What the agent learned about each app's identity (detection engine).
ALTER TABLE device_apps ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE device_apps ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE device_apps ADD COLUMN identity TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE device_apps DROP COLUMN identity;
ALTER TABLE device_apps DROP COLUMN verified;
ALTER TABLE device_apps DROP COLUMN version;
