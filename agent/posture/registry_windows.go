//go:build windows

package posture

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// readRegistry reads value name of key, HKLM\... or HKCU\...; HKCU\ is the
// owner's hive, HKEY_USERS\<SID>\..., since the agent runs as SYSTEM whose
// own HKCU is not the person's. The 64-bit view is read. A missing key or
// value is not found; DWORD and QWORD values are decimal text, strings as
// they are, several strings joined by newlines, binary values in hex.
func readRegistry(key, name string, owner Owner) (string, bool, error) {
	root, sub, err := registryPath(key, owner.SID)
	if err != nil {
		return "", false, err
	}
	k, err := registry.OpenKey(root, sub, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if err != nil {
		if errors.Is(err, registry.ErrNotExist) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("open %s: %w", key, err)
	}
	defer k.Close()
	_, typ, err := k.GetValue(name, nil)
	if err != nil {
		if errors.Is(err, registry.ErrNotExist) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("read %s\\%s: %w", key, name, err)
	}
	switch typ {
	case registry.DWORD, registry.QWORD:
		v, _, err := k.GetIntegerValue(name)
		if err != nil {
			return "", false, fmt.Errorf("read %s\\%s: %w", key, name, err)
		}
		return strconv.FormatUint(v, 10), true, nil
	case registry.SZ, registry.EXPAND_SZ:
		v, _, err := k.GetStringValue(name)
		if err != nil {
			return "", false, fmt.Errorf("read %s\\%s: %w", key, name, err)
		}
		return v, true, nil
	case registry.MULTI_SZ:
		v, _, err := k.GetStringsValue(name)
		if err != nil {
			return "", false, fmt.Errorf("read %s\\%s: %w", key, name, err)
		}
		return strings.Join(v, "\n"), true, nil
	case registry.BINARY:
		v, _, err := k.GetBinaryValue(name)
		if err != nil {
			return "", false, fmt.Errorf("read %s\\%s: %w", key, name, err)
		}
		return hex.EncodeToString(v), true, nil
	}
	return "", false, fmt.Errorf("read %s\\%s: value of type %d is not read", key, name, typ)
}

func registryPath(key, sid string) (registry.Key, string, error) {
	root, sub, err := splitRegistry(key, sid)
	if err != nil {
		return 0, "", err
	}
	if root == rootUsers {
		return registry.USERS, sub, nil
	}
	return registry.LOCAL_MACHINE, sub, nil
}
