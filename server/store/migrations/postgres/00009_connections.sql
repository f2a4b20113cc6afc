-- +goose Up
-- The servers and accounts a meeting app on a device is set up for, as the
-- device's latest app_connection event for that app says: one row per
-- device and app, and its servers and accounts (with what the policy found
-- wrong with each) in device_connection_items, so the fleet counts are one
-- GROUP BY. received_at (server time) is what retention purges by.
CREATE TABLE device_connections (
    device_id   TEXT COLLATE "C" NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    app_id      TEXT COLLATE "C" NOT NULL,
    source      TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    at          BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, app_id)
);
CREATE INDEX device_connections_received ON device_connections (received_at);

CREATE TABLE device_connection_items (
    device_id    TEXT COLLATE "C" NOT NULL,
    app_id       TEXT COLLATE "C" NOT NULL,
    item         TEXT COLLATE "C" NOT NULL,
    value        TEXT COLLATE "C" NOT NULL,
    tenant       TEXT COLLATE "C" NOT NULL DEFAULT '',
    account_kind TEXT COLLATE "C" NOT NULL DEFAULT '',
    finding      TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (device_id, app_id, item, value, tenant, account_kind),
    FOREIGN KEY (device_id, app_id) REFERENCES device_connections (device_id, app_id) ON DELETE CASCADE
);
CREATE INDEX device_connection_items_app ON device_connection_items (app_id, item, value);

-- +goose Down
DROP TABLE device_connection_items;
DROP TABLE device_connections;
