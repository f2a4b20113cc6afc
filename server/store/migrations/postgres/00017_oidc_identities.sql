-- +goose Up
-- The PostgreSQL twin of migrations/sqlite/00017_oidc_identities.sql.
CREATE TABLE oidc_identities (
    issuer        TEXT COLLATE "C" NOT NULL,
    subject       TEXT COLLATE "C" NOT NULL,
    label         TEXT NOT NULL,
    role          TEXT NOT NULL,
    first_login   BIGINT NOT NULL,
    last_login    BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);

-- +goose Down
DROP TABLE oidc_identities;
