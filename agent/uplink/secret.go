package uplink

import (
	"errors"
	"fmt"
	"github.com/vcguard/vcguard/agent/statedir"
	"os"
	"path/filepath"
	"strings"

	"github.com/vcguard/vcguard/agent/fsperm"
	"github.com/vcguard/vcguard/internal/atomicfile"
)

// SecretFile is the enrollment secret's file in the state directory, as
// `vcguard-agent enroll-secret` stores it (the MSI runs that as SYSTEM). It
// is read when no other secret is configured and deleted after a
// successful enrollment.
var SecretFile = statedir.EnrollSecret.Name

// maxSecret bounds an enrollment secret; the server's are 43 characters.
const maxSecret = 4096

// StoreSecret keeps secret in stateDir for the next enrollment: the
// directory is created private to root/SYSTEM (fsperm.Protect) and the file
// is written atomically with mode 0600.
func StoreSecret(stateDir, secret string) error {
	secret = strings.TrimSpace(secret)
	if err := checkSecret(secret); err != nil {
		return err
	}
	if err := fsperm.Protect(stateDir, false); err != nil {
		return fmt.Errorf("create state directory %s: %w", stateDir, err)
	}
	path := filepath.Join(stateDir, SecretFile)
	if err := atomicfile.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("store the enrollment secret in %s: %w", path, err)
	}
	return nil
}

func checkSecret(secret string) error {
	switch {
	case secret == "":
		return errors.New("the enrollment secret is empty")
	case len(secret) > maxSecret:
		return fmt.Errorf("the enrollment secret is %d bytes long; at most %d", len(secret), maxSecret)
	case strings.ContainsAny(secret, "\r\n\x00"):
		return errors.New("the enrollment secret holds a line break or NUL: give the one line IT handed out")
	}
	return nil
}

// RemoveSecret deletes the stored enrollment secret; none stored is no
// error.
func RemoveSecret(stateDir string) error {
	err := os.Remove(filepath.Join(stateDir, SecretFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the stored enrollment secret: %w", err)
	}
	return nil
}

// HasStoredSecret reports whether stateDir holds a stored secret.
func HasStoredSecret(stateDir string) bool {
	_, err := os.Stat(filepath.Join(stateDir, SecretFile))
	return err == nil
}

// readSecret returns the enrollment secret and, for messages, where it came
// from: cfg.Secret, then cfg.SecretFile, then the state directory's copy.
func readSecret(cfg EnrollConfig) (secret, from string, err error) {
	if cfg.Secret != "" {
		from = cfg.SecretSource
		if from == "" {
			from = "the managed configuration"
		}
		return strings.TrimSpace(cfg.Secret), from, nil
	}
	path := cfg.SecretFile
	from = path
	if path == "" {
		path = filepath.Join(cfg.StateDir, SecretFile)
		from = path + " (stored by vcguard-agent enroll-secret)"
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && cfg.SecretFile == "" {
		return "", "", &EnrollError{Msg: "no enrollment secret: give --enroll-secret-file FILE, or store it with `vcguard-agent enroll-secret --set VALUE` (or --stdin)"}
	}
	if err != nil {
		return "", "", &EnrollError{Msg: fmt.Sprintf("read the enrollment secret: %v", err)}
	}
	secret = strings.TrimSpace(string(data))
	if secret == "" {
		return "", "", &EnrollError{Msg: fmt.Sprintf("the enrollment secret file %s is empty", from)}
	}
	return secret, from, nil
}
