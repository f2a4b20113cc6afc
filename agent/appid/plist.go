//lint:file-ignore ST1005 the errors begin with the file name Info.plist, which is capitalised

package appid

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"howett.net/plist"
)

// MaxInfoPlistSize bounds what is read of an Info.plist; real ones are a few
// kilobytes.
const MaxInfoPlistSize = 1 << 20

// BundleInfo is what an app bundle's Info.plist says about it.
type BundleInfo struct {
	Identifier string // CFBundleIdentifier
	Version    string // CFBundleShortVersionString, else CFBundleVersion
	Executable string // CFBundleExecutable
	Name       string // CFBundleName
}

// infoPlist decodes the keys BundleInfo needs; everything else is skipped.
type infoPlist struct {
	Identifier   any `plist:"CFBundleIdentifier"`
	ShortVersion any `plist:"CFBundleShortVersionString"`
	Version      any `plist:"CFBundleVersion"`
	Executable   any `plist:"CFBundleExecutable"`
	Name         any `plist:"CFBundleName"`
}

// ParseInfoPlist decodes an Info.plist in XML, binary or OpenStep format.
func ParseInfoPlist(data []byte) (bi BundleInfo, err error) {
	if len(data) > MaxInfoPlistSize {
		return BundleInfo{}, fmt.Errorf("Info.plist: %d bytes, more than the %d allowed", len(data), MaxInfoPlistSize)
	}
	if len(data) == 0 {
		return BundleInfo{}, errors.New("Info.plist: empty")
	}
	defer func() {
		// howett.net/plist re-raises runtime errors; malformed input must
		// still come back as an error.
		if r := recover(); r != nil {
			bi, err = BundleInfo{}, fmt.Errorf("Info.plist: malformed (parser failed: %v)", r)
		}
	}()
	var p infoPlist
	if _, err := plist.Unmarshal(data, &p); err != nil {
		return BundleInfo{}, fmt.Errorf("Info.plist: %w", err)
	}
	bi = BundleInfo{
		Identifier: plistString(p.Identifier),
		Version:    plistString(p.ShortVersion),
		Executable: plistString(p.Executable),
		Name:       plistString(p.Name),
	}
	if bi.Version == "" {
		bi.Version = plistString(p.Version)
	}
	if bi.Identifier == "" && bi.Version == "" && bi.Executable == "" && bi.Name == "" {
		return BundleInfo{}, errors.New("Info.plist: not a dictionary with CFBundle keys")
	}
	return bi, nil
}

// plistString renders a scalar plist value; containers and data give "".
func plistString(v any) string {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case uint64, int64, float64, bool:
		return fmt.Sprint(v)
	}
	return ""
}

// ReadInfoPlist reads and decodes the Info.plist file at path (at most
// MaxInfoPlistSize bytes).
func ReadInfoPlist(path string) (BundleInfo, error) {
	data, err := readFileCapped(path, MaxInfoPlistSize)
	if err != nil {
		return BundleInfo{}, err
	}
	bi, err := ParseInfoPlist(data)
	if err != nil {
		return BundleInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	return bi, nil
}

// BundleRoot returns the app bundle holding the executable exe: from
// ".../Foo.app/Contents/MacOS/foo" it returns ".../Foo.app". With nested
// bundles (a helper app inside Contents/Frameworks) the innermost .app whose
// Contents/MacOS holds exe wins. ok is false when exe is not in a bundle.
func BundleRoot(exe string) (string, bool) {
	if !strings.HasPrefix(exe, "/") {
		return "", false
	}
	exe = path.Clean(exe)
	const marker = ".app/Contents/MacOS/"
	i := strings.LastIndex(exe, marker)
	if i < 0 {
		return "", false
	}
	root := exe[:i+len(".app")]
	name := path.Base(root)
	if name == ".app" || strings.HasSuffix(root, "/.app") || exe[i+len(marker):] == "" {
		return "", false
	}
	return root, true
}

// readFileCapped reads the file at path, failing when it is larger than
// limit bytes so an attacker-supplied file cannot balloon the agent.
func readFileCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, limit)
	}
	return data, nil
}
