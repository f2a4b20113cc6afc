-- +goose Up
-- The paged reads walk these orders with keyset cursors: the device list by
-- (hostname, id), one device's events newest first by (time, seq). Without
-- them each page sorted every device, or every event of the device.
CREATE INDEX devices_hostname ON devices (hostname, id);
CREATE INDEX events_device_time ON events (device_id, time, seq);

-- +goose Down
DROP INDEX events_device_time;
DROP INDEX devices_hostname;
