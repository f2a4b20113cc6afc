-- +goose Up
-- Ingest looks up a device's apps by running state: the stopped instances of
-- an app to forget when it starts again, the running ones to count against
-- the per-device cap and to stop on an inventory. Without this index each of
-- those scanned every instance of the app, so an agent starting one app
-- under ever new PIDs made ingest quadratic.
CREATE INDEX device_apps_state ON device_apps (device_id, running, app_id);

-- +goose Down
DROP INDEX device_apps_state;
