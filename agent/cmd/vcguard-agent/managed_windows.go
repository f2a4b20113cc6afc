package main

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// osManagedStore reads the policy key HKLM\SOFTWARE\Policies\vcguard\Agent.
// Only administrators (and SYSTEM, which runs the MSI) may write under
// HKLM\SOFTWARE\Policies.
func osManagedStore() managedStore {
	return registryStore{read: func() (map[string]string, error) {
		return readRegistryValues(registry.LOCAL_MACHINE, policyKeyPath)
	}}
}

// readRegistryValues returns the string values (REG_SZ, REG_EXPAND_SZ, not
// expanded) of root\path; other types are skipped. A missing key is no
// values.
func readRegistryValues(root registry.Key, path string) (map[string]string, error) {
	k, err := registry.OpenKey(root, path, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if errors.Is(err, registry.ErrNotExist) || errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer k.Close()
	names, err := k.ReadValueNames(0)
	if err != nil {
		return nil, fmt.Errorf("list values: %w", err)
	}
	values := make(map[string]string, len(names))
	for _, name := range names {
		v, typ, err := k.GetStringValue(name)
		if errors.Is(err, registry.ErrUnexpectedType) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("value %s: %w", name, err)
		}
		if typ == registry.SZ || typ == registry.EXPAND_SZ {
			values[name] = v
		}
	}
	return values, nil
}
