package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/keyring"
	"github.com/vcguard/vcguard/server/store"
)

// initialAdminFile holds the first dashboard account's credentials.
const initialAdminFile = "initial-admin.txt"

// firstAdmin creates, when the database has no administrator, the account
// "admin" with a random password and TOTP secret, and writes them with the
// otpauth:// URL to DATA/initial-admin.txt (0600). Only the path is logged.
func firstAdmin(ctx context.Context, cfg *config, api *admin.Service, logger *slog.Logger) error {
	admins, err := api.Store.Admins(ctx)
	if err != nil {
		return err
	}
	if len(admins) > 0 {
		return nil
	}
	created, err := api.CreateAdmin(ctx, admin.SystemActor, "admin", store.RoleAdmin)
	if errors.Is(err, store.ErrExists) {
		return nil // another replica was first
	}
	if err != nil {
		return fmt.Errorf("create the first admin account: %w", err)
	}
	path := filepath.Join(cfg.DataDir, initialAdminFile)
	text := fmt.Sprintf(`vcguard: the first dashboard account, created %s.

Dashboard: https://%s/
Username:  %s
Password:  %s

Log in with the password and a code from an authenticator app (any TOTP app:
Aegis, FreeOTP, Google or Microsoft Authenticator, 1Password, ...). Enrol the
app with this URL (paste it, or turn it into a QR code, e.g. qrencode -t ansiutf8):

%s

Then create accounts for each person (vcguard-server admin add --username NAME
--role admin|analyst|auditor) and delete this file.
`, created.Admin.Created.Format(time.RFC3339), cfg.HTTPAddr, created.Admin.Username, created.Password, created.TOTPURL)
	if err := writePrivateFile(path, text); err != nil {
		return err
	}
	logger.Info("first admin account written", "file", path)
	return nil
}

// writePrivateFile writes a new file only its owner can read, replacing
// any file there (whose mode WriteFile would have kept).
func writePrivateFile(path, text string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

const adminUsage = `usage: vcguard-server admin COMMAND [--data DIR] [--db URL] [flags]

  add     --username NAME --role admin|analyst|auditor
          create an account; prints its password and otpauth:// URL once
  passwd  --username NAME [--new-totp]
          set a new random password (and TOTP secret); ends its sessions
  disable --username NAME    disable an account; ends its sessions at once
  enable  --username NAME    enable it again
  list                       list the accounts

--data and --db name the database as for the server (default ./vcguard-data,
sqlite). Every change is recorded in the audit log as done by "system".
`

// adminMain runs "vcguard-server admin …" and returns the exit code.
func adminMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if err := runAdmin(ctx, args, stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, adminUsage)
			return 0
		}
		fmt.Fprintln(stderr, "vcguard-server admin:", err)
		return 2
	}
	return 0
}

func runAdmin(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		return flag.ErrHelp
	}
	cmd := args[0]
	fs := flag.NewFlagSet("vcguard-server admin "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := &config{}
	fs.StringVar(&cfg.DataDir, "data", "./vcguard-data", "data directory")
	fs.StringVar(&cfg.DB, "db", "sqlite", "database: sqlite or a postgres:// URL")
	username := fs.String("username", "", "account username")
	role := fs.String("role", "", "admin, analyst or auditor")
	newTOTP := fs.Bool("new-totp", false, "passwd: also a new TOTP secret")
	fs.StringVar(&cfg.KEKFile, "kek-file", os.Getenv("VCGUARD_KEK_FILE"), "the server's key-encryption key file, when it seals the TOTP secrets")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%s: %w\n\n%s", cmd, err, adminUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", cmd, fs.Arg(0))
	}
	if cfg.DB != "sqlite" && !cfg.usesPostgres() {
		return errors.New("--db: want sqlite (the default) or a postgres://user@host:port/database URL")
	}
	needUser := map[string]bool{"add": true, "passwd": true, "disable": true, "enable": true}
	if _, known := needUser[cmd]; !known && cmd != "list" {
		return fmt.Errorf("unknown command %q\n\n%s", cmd, adminUsage)
	}
	if needUser[cmd] && *username == "" {
		return fmt.Errorf("%s: --username is required", cmd)
	}
	if cmd == "add" && *role == "" {
		return errors.New("add: --role is required (admin, analyst or auditor)")
	}
	if !cfg.usesPostgres() {
		if _, err := os.Stat(cfg.DataDir); err != nil {
			return fmt.Errorf("--data %s: %w (start the server once first, or name its data directory)", cfg.DataDir, err)
		}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.KEKFile != "" {
		kek, err := keyring.LoadKEK(cfg.KEKFile)
		if err != nil {
			return err
		}
		if err := sealTOTPSecrets(ctx, st, kek, slog.New(slog.DiscardHandler)); err != nil {
			return err
		}
	}
	api := &admin.Service{Store: st, Logger: slog.New(slog.DiscardHandler)}
	by := admin.SystemActor
	switch cmd {
	case "add":
		created, err := api.CreateAdmin(ctx, by, *username, store.Role(*role))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "username:    %s\nrole:        %s\npassword:    %s\notpauth URL: %s\n",
			created.Admin.Username, created.Admin.Role, created.Password, created.TOTPURL)
		fmt.Fprintln(stdout, "\nGive these to the person over a safe channel; they are not shown again.")
	case "passwd":
		reset, err := api.ResetAdminPassword(ctx, by, *username, *newTOTP)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "username:    %s\npassword:    %s\n", reset.Admin.Username, reset.Password)
		if reset.TOTPURL != "" {
			fmt.Fprintf(stdout, "otpauth URL: %s\n", reset.TOTPURL)
		}
	case "disable":
		if _, err := api.DisableAdmin(ctx, by, *username); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s disabled; their sessions have ended\n", *username)
	case "enable":
		if _, err := api.EnableAdmin(ctx, by, *username); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s enabled\n", *username)
	case "list":
		admins, err := st.Admins(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tSTATUS\tLAST LOGIN\tCREATED")
		for _, a := range admins {
			status, last := "enabled", "never"
			if !a.Enabled() {
				status = "disabled"
			}
			if !a.LastLogin.IsZero() {
				last = a.LastLogin.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Username, a.Role, status, last, a.Created.Format(time.RFC3339))
		}
		return tw.Flush()
	}
	return nil
}
