-- +goose Up
-- Administrators who signed in through the OpenID Connect provider: one row
-- per (issuer, subject), with the role their last sign-in mapped to, so a
-- role that changes between sign-ins is seen (and audited).
CREATE TABLE oidc_identities (
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    label         TEXT NOT NULL,
    role          TEXT NOT NULL,
    first_login   INTEGER NOT NULL,
    last_login    INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
);

-- +goose Down
DROP TABLE oidc_identities;
