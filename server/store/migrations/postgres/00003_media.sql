-- +goose Up
-- The cameras and microphones in use on each device now.
CREATE TABLE device_media (
    device_id TEXT COLLATE "C" NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    kind      TEXT COLLATE "C" NOT NULL,
    source    TEXT NOT NULL,
    device    TEXT NOT NULL,
    pid       INTEGER NOT NULL,
    process   TEXT NOT NULL DEFAULT '',
    app_id    TEXT NOT NULL DEFAULT '',
    category  TEXT NOT NULL DEFAULT '',
    session   TEXT NOT NULL DEFAULT '',
    since     BIGINT NOT NULL,
    PRIMARY KEY (device_id, kind, source, device, pid)
);

-- +goose Down
DROP TABLE device_media;
