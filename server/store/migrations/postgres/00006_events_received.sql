-- +goose Up
-- Retention goes by when the server received an event, not by the time the
-- agent put on it (an agent's clock, or a hostile agent, decides the latter).
CREATE INDEX events_received ON events (received_at);

-- +goose Down
DROP INDEX events_received;
