package posture

import (
	"errors"
	"fmt"
	"strings"
)

// registryRoot names a predefined registry key without importing the
// Windows-only registry package, so the path is tested everywhere.
type registryRoot int

const (
	rootLocalMachine registryRoot = iota
	rootUsers
)

var errNoSID = errors.New("the process owner has no SID for HKCU")

// splitRegistry turns a catalog key into a predefined root and a subkey:
// HKLM\x is HKEY_LOCAL_MACHINE\x, HKCU\x the owner's hive HKEY_USERS\<sid>\x.
func splitRegistry(key, sid string) (registryRoot, string, error) {
	switch {
	case strings.HasPrefix(key, `HKLM\`) && len(key) > 5:
		return rootLocalMachine, key[5:], nil
	case strings.HasPrefix(key, `HKCU\`) && len(key) > 5:
		if sid == "" {
			return 0, "", errNoSID
		}
		if !strings.HasPrefix(sid, "S-") || strings.ContainsAny(sid, `\/`) {
			return 0, "", fmt.Errorf("%q is not a SID", sid)
		}
		return rootUsers, sid + `\` + key[5:], nil
	}
	return 0, "", fmt.Errorf("%q is not a key under HKLM\\ or HKCU\\", key)
}
