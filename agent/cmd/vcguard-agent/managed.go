package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"howett.net/plist"
)

// managedConfig is the configuration an MDM set: macOS managed preferences
// for the domain eu.vcguard.agent (a configuration profile), or the Windows
// registry policy key HKLM\SOFTWARE\Policies\vcguard\Agent (the MSI's
// properties, Intune, Group Policy). Employees can change neither, so every
// key set here wins over the configuration file, the environment and flags.
type managedConfig struct {
	// Source names where the values came from in status output and
	// errors: "managed: preferences", "managed: registry".
	Source        string
	Server        string
	EnrollSecret  string // macOS only: profiles are root-readable payloads
	CAFile        string // Windows only: a path the MSI's CA_FILE gave
	CAFingerprint string
	CACertificate string // macOS only: the CA as PEM
	DeviceGroup   string
}

// managedStore reads the managed configuration of this OS. Read returns a
// zero managedConfig and no error where nothing is managed.
type managedStore interface {
	Read() (managedConfig, error)
}

// Managed preference keys (macOS) and registry values (Windows).
const (
	keyServer        = "Server"
	keyEnrollSecret  = "EnrollSecret"
	keyCAFile        = "CAFile"
	keyCAFingerprint = "CAFingerprint"
	keyCACertificate = "CACertificate"
	keyDeviceGroup   = "DeviceGroup"
)

// managedPlistDomain is the agent's preference domain; a configuration
// profile for it lands in /Library/Managed Preferences/<domain>.plist.
const managedPlistDomain = "eu.vcguard.agent"

// managedPlistPath is where macOS keeps the managed preferences for the
// agent's domain (root-owned; written by mdmclient from the profile).
const managedPlistPath = "/Library/Managed Preferences/" + managedPlistDomain + ".plist"

// parseManagedPlist decodes managed preferences (XML or binary plist). Keys
// the agent does not know are ignored (profiles carry PayloadUUID and the
// like); a known key that is not a string is an error.
func parseManagedPlist(data []byte) (managedConfig, error) {
	var m map[string]any
	if _, err := plist.Unmarshal(data, &m); err != nil {
		return managedConfig{}, fmt.Errorf("not a property list: %w", err)
	}
	mc := managedConfig{Source: "managed: preferences"}
	fields := map[string]*string{
		keyServer: &mc.Server, keyEnrollSecret: &mc.EnrollSecret, keyCAFingerprint: &mc.CAFingerprint,
		keyCACertificate: &mc.CACertificate, keyDeviceGroup: &mc.DeviceGroup,
	}
	var errs []string
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		v, ok := m[k]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			errs = append(errs, fmt.Sprintf("key %s: want a string, not %T", k, v))
			continue
		}
		s = strings.TrimSpace(s)
		if isPlaceholder(s) {
			errs = append(errs, fmt.Sprintf("key %s still holds the placeholder %s of the profile vcguard-package wrote: replace it with the real value in the MDM", k, s))
			continue
		}
		*fields[k] = s
	}
	if len(errs) > 0 {
		return managedConfig{}, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return mc, nil
}

// isPlaceholder reports whether s is one of the "__NAME__" placeholders
// that installer/mobileconfig writes for values it was not given.
func isPlaceholder(s string) bool {
	return len(s) > 4 && strings.HasPrefix(s, "__") && strings.HasSuffix(s, "__") &&
		strings.Trim(s[2:len(s)-2], "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == ""
}

// managedFromRegistry maps the REG_SZ values of the policy key (name to
// value, as the registry reader returns them) to managed configuration.
// Value names are matched without regard to case, as the registry does.
func managedFromRegistry(values map[string]string) managedConfig {
	mc := managedConfig{Source: "managed: registry"}
	fields := map[string]*string{
		keyServer: &mc.Server, keyCAFile: &mc.CAFile, keyCAFingerprint: &mc.CAFingerprint, keyDeviceGroup: &mc.DeviceGroup,
	}
	for name, v := range values {
		for k, dst := range fields {
			if strings.EqualFold(name, k) {
				*dst = strings.TrimSpace(v)
			}
		}
	}
	return mc
}

// plistFileStore reads managed preferences from a file after checking who
// may have written it; used by the macOS store and by tests.
type plistFileStore struct {
	path string
	// check refuses a file anyone but root may have written
	// (fsperm.CheckNotWritableByOthers).
	check    func(path string) error
	readFile func(path string) ([]byte, error)
}

func (s plistFileStore) Read() (managedConfig, error) {
	if err := s.check(s.path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return managedConfig{}, nil // no profile for the domain
		}
		return managedConfig{}, fmt.Errorf("managed preferences refused (only root may write them: fix the file's owner and mode, or remove it and reinstall the profile): %w", err)
	}
	data, err := s.readFile(s.path)
	if err != nil {
		return managedConfig{}, fmt.Errorf("managed preferences %s: %w", s.path, err)
	}
	mc, err := parseManagedPlist(bytes.TrimSpace(data))
	if err != nil {
		return managedConfig{}, fmt.Errorf("managed preferences %s: %w", s.path, err)
	}
	return mc, nil
}

// registryReader returns the values of the policy key; no key is no values
// and no error.
type registryReader func() (map[string]string, error)

// registryStore reads the Windows policy key through read.
type registryStore struct{ read registryReader }

func (s registryStore) Read() (managedConfig, error) {
	values, err := s.read()
	if err != nil {
		return managedConfig{}, fmt.Errorf(`managed configuration (registry %s): %w`, policyKeyPath, err)
	}
	if len(values) == 0 {
		return managedConfig{}, nil
	}
	return managedFromRegistry(values), nil
}

// policyKeyPath is the registry key the MSI and Intune write, under
// HKEY_LOCAL_MACHINE.
const policyKeyPath = `SOFTWARE\Policies\vcguard\Agent`
