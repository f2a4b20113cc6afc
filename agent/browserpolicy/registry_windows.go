package browserpolicy

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// hklm is the registry place: paths are KEY\...\VALUE under
// HKEY_LOCAL_MACHINE, containers are keys. Always the 64-bit view, which is
// where 64-bit browsers read SOFTWARE\Policies.
type hklm struct{}

func newRegistry() (place, error) { return hklm{}, nil }

const view = registry.WOW64_64KEY

func splitValue(path string) (key, name string) {
	i := strings.LastIndexByte(path, '\\')
	return path[:i], path[i+1:]
}

func parentKey(key string) string {
	i := strings.LastIndexByte(key, '\\')
	if i < 0 {
		return ""
	}
	return key[:i]
}

// check has nothing to refuse: the keys under HKLM\SOFTWARE\Policies are
// writable by administrators only.
func (hklm) check(string) error { return nil }

func (hklm) read(path string) ([]byte, bool, error) {
	key, name := splitValue(path)
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.QUERY_VALUE|view)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf(`open HKLM\%s: %w`, key, err)
	}
	defer k.Close()
	n, typ, err := k.GetValue(name, nil)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf(`read HKLM\%s: %w`, path, err)
	}
	if n > maxPolicyFileBytes {
		return nil, false, fmt.Errorf(`read HKLM\%s: %d bytes, more than a policy value holds`, path, n)
	}
	switch typ {
	case registry.DWORD:
		v, _, err := k.GetIntegerValue(name)
		if err != nil {
			return nil, false, fmt.Errorf(`read HKLM\%s: %w`, path, err)
		}
		return []byte("dword:" + strconv.FormatUint(v, 10)), true, nil
	case registry.SZ:
		v, _, err := k.GetStringValue(name)
		if err != nil {
			return nil, false, fmt.Errorf(`read HKLM\%s: %w`, path, err)
		}
		return []byte("sz:" + v), true, nil
	}
	// Another type is never vcguard's: keep its bytes to compare.
	buf := make([]byte, n)
	n, _, err = k.GetValue(name, buf)
	if err != nil {
		return nil, false, fmt.Errorf(`read HKLM\%s: %w`, path, err)
	}
	return []byte("type" + strconv.FormatUint(uint64(typ), 10) + ":" + hex.EncodeToString(buf[:n])), true, nil
}

func (hklm) missing(path string) ([]string, error) {
	var out []string
	for key := parentKey(path); key != ""; key = parentKey(key) {
		k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.QUERY_VALUE|view)
		if err == nil {
			k.Close()
			break
		}
		if !errors.Is(err, registry.ErrNotExist) {
			return nil, fmt.Errorf(`open HKLM\%s: %w`, key, err)
		}
		out = append(out, key)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func (hklm) write(e entry, missing []string) error {
	for _, key := range missing {
		k, existed, err := registry.CreateKey(registry.LOCAL_MACHINE, key, registry.QUERY_VALUE|view)
		if err != nil {
			return fmt.Errorf(`create HKLM\%s: %w`, key, err)
		}
		k.Close()
		if existed {
			return fmt.Errorf(`create HKLM\%s: someone else created it meanwhile`, key)
		}
	}
	key, name := splitValue(e.path)
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.SET_VALUE|view)
	if err != nil {
		return fmt.Errorf(`open HKLM\%s: %w`, key, err)
	}
	defer k.Close()
	if e.reg == nil {
		return fmt.Errorf(`write HKLM\%s: no registry value`, e.path)
	}
	if e.reg.isSZ {
		err = k.SetStringValue(name, e.reg.sz)
	} else {
		err = k.SetDWordValue(name, e.reg.dword)
	}
	if err != nil {
		return fmt.Errorf(`write HKLM\%s: %w`, e.path, err)
	}
	return nil
}

func (hklm) remove(path string) error {
	key, name := splitValue(path)
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.SET_VALUE|view)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf(`open HKLM\%s: %w`, key, err)
	}
	defer k.Close()
	if err := k.DeleteValue(name); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf(`remove HKLM\%s: %w`, path, err)
	}
	return nil
}

func (hklm) removeEmpty(key string) (bool, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.QUERY_VALUE|registry.ENUMERATE_SUB_KEYS|view)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf(`open HKLM\%s: %w`, key, err)
	}
	info, err := k.Stat()
	k.Close()
	if err != nil {
		return false, fmt.Errorf(`read HKLM\%s: %w`, key, err)
	}
	if info.SubKeyCount > 0 || info.ValueCount > 0 {
		return false, nil
	}
	if err := registry.DeleteKey(registry.LOCAL_MACHINE, key); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return false, fmt.Errorf(`remove HKLM\%s: %w`, key, err)
	}
	return true, nil
}

func (hklm) exists(key string) bool {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.QUERY_VALUE|view)
	if err != nil {
		return false
	}
	k.Close()
	return true
}

func (hklm) under(path, key string) bool { return strings.HasPrefix(path, key+`\`) }

func (hklm) depth(path string) int { return strings.Count(path, `\`) }
