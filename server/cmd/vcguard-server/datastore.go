package main

// The data the server keeps: opening the database, sealing the accounts'
// TOTP secrets, and the first start of an empty installation.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	"github.com/vcguard/vcguard/internal/atomicfile"
	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/keyring"
	"github.com/vcguard/vcguard/server/store"
)

// sealTOTPSecrets makes the store seal the accounts' TOTP secrets under
// the key-encryption key (none: they are stored as they are) and seals
// those still stored in the clear.
func sealTOTPSecrets(ctx context.Context, st *store.Store, kek []byte, logger *slog.Logger) error {
	sealer, err := keyring.TOTPSealer(kek)
	if err != nil || sealer == nil {
		return err
	}
	st.SetSecretSealer(sealer)
	n, err := st.SealTOTPSecrets(ctx)
	if err != nil {
		return fmt.Errorf("seal the TOTP secrets: %w", err)
	}
	if n > 0 {
		logger.Info("sealed TOTP secrets in the database with the key-encryption key", "accounts", n)
	}
	return nil
}

// dbForLog names the database for logs, without a password.
func (c *config) dbForLog() string {
	if !c.usesPostgres() {
		return "sqlite:" + filepath.Join(c.DataDir, databaseFile)
	}
	u, err := url.Parse(c.DB)
	if err != nil {
		return "postgres"
	}
	u.RawQuery = "" // may hold a password parameter
	return u.Redacted()
}

// openStore opens the database --db names.
func openStore(ctx context.Context, cfg *config) (*store.Store, error) {
	if cfg.usesPostgres() {
		return store.OpenPostgres(ctx, cfg.DB)
	}
	return store.OpenSQLite(ctx, filepath.Join(cfg.DataDir, databaseFile))
}

// firstStart creates, in an empty installation, the first enrollment secret,
// the first admin API token (for the JSON API and vcguardctl), the first
// dashboard account and the initial policy, writing the secrets into the
// data directory (0600) for the person who set the server up.
func firstStart(ctx context.Context, cfg *config, api *admin.Service, logger *slog.Logger) error {
	secrets, err := api.Store.EnrollmentSecrets(ctx)
	if err != nil {
		return err
	}
	if len(secrets) == 0 {
		_, value, err := api.CreateEnrollmentSecret(ctx, admin.SystemActor, admin.SecretSpec{Description: "created on first start"})
		if err != nil {
			return err
		}
		if err := writeSecretFile(filepath.Join(cfg.DataDir, enrollSecretFile), value); err != nil {
			return err
		}
		logger.Info("first enrollment secret written", "file", filepath.Join(cfg.DataDir, enrollSecretFile))
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, adminTokenFile)); errors.Is(err, os.ErrNotExist) {
		_, value, err := api.CreateAPIToken(ctx, admin.SystemActor, "created on first start", store.RoleAdmin)
		if err != nil {
			return err
		}
		if err := writeSecretFile(filepath.Join(cfg.DataDir, adminTokenFile), value); err != nil {
			return err
		}
		logger.Info("admin API token written", "file", filepath.Join(cfg.DataDir, adminTokenFile))
	}
	if err := firstAdmin(ctx, cfg, api, logger); err != nil {
		return err
	}
	if _, err := api.Store.CurrentPolicy(ctx); errors.Is(err, store.ErrNotFound) && cfg.InitialPolicy != "" {
		doc, err := policies.ExamplePolicy(cfg.InitialPolicy)
		if err != nil {
			return fmt.Errorf("--initial-policy: %w", err)
		}
		if _, err := api.PublishPolicy(ctx, admin.Actor{Subject: "vcguard-server (first start)"}, doc,
			"first start: the "+cfg.InitialPolicy+" example policy"); err != nil {
			return fmt.Errorf("publish initial policy: %w", err)
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

func writeSecretFile(path, value string) error {
	return atomicfile.WriteFile(path, []byte(value+"\n"), 0o600)
}
