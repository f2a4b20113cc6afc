-- +goose Up
-- The newest event of a few rare types per device (browser_policy: the
-- browsers' managed policies as the agent last left them), by sequence
-- number, so the device page finds it through the primary key instead of
-- walking every event of the device. The event itself stays in events and
-- goes with it; received_at is what retention purges the pointer by.
CREATE TABLE device_latest_events (
    device_id   TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, type)
);
CREATE INDEX device_latest_events_received ON device_latest_events (received_at);

-- +goose Down
DROP TABLE device_latest_events;
