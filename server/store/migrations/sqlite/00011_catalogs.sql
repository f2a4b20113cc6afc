-- +goose Up
-- Signed catalog versions (policies.CatalogBundle, canonical encoding),
-- distributed to the agents like policies. The version is the catalog's
-- own number (policies/catalog/VERSION), not assigned here; a version not
-- above the newest stored is refused.
CREATE TABLE catalogs (
    version      INTEGER PRIMARY KEY,
    bundle       BLOB NOT NULL,
    signature    BLOB NOT NULL,
    apps         INTEGER NOT NULL,
    published_at INTEGER NOT NULL,
    published_by TEXT NOT NULL
);
-- The catalog version each device reported it uses (0: not reported).
ALTER TABLE devices ADD COLUMN catalog_version INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE devices DROP COLUMN catalog_version;
DROP TABLE catalogs;
