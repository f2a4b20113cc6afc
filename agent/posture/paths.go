package posture

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// windowsFolders are the Windows known folders a catalog path may start
// with: under the owner's profile (home), or from the service's
// environment (env).
var windowsFolders = []struct {
	prefix string
	home   string // path under the profile, or "" for env
	env    string
}{
	{prefix: `%USERPROFILE%\`, home: "."},
	{prefix: `%APPDATA%\`, home: `AppData\Roaming`},
	{prefix: `%LOCALAPPDATA%\`, home: `AppData\Local`},
	{prefix: `%PROGRAMDATA%\`, env: "ProgramData"},
	{prefix: `%PROGRAMFILES%\`, env: "ProgramFiles"},
	{prefix: `%PROGRAMFILES(X86)%\`, env: "ProgramFiles(x86)"},
}

var errNoHome = errors.New("the process owner has no home directory")

// expandPath turns a catalog path for goos into a path on this machine:
// "~/" is the owner's home; on Windows %USERPROFILE% is the owner's
// profile, %APPDATA% and %LOCALAPPDATA% are under it and %PROGRAMDATA%, %PROGRAMFILES% and
// %PROGRAMFILES(X86)% come from the service's environment; other absolute
// paths are system paths, put under systemRoot when it is set. inHome
// reports whether the path is under the owner's home (and must belong to
// the owner). It is pure, so every OS's paths are tested everywhere.
func expandPath(goos, p, home string, getenv func(string) string, systemRoot string) (out string, inHome bool, err error) {
	if strings.ContainsRune(p, 0) || strings.Contains(p, "..") {
		return "", false, fmt.Errorf("path %q is not allowed", p)
	}
	if goos == "windows" {
		up := strings.ToUpper(p)
		for _, f := range windowsFolders {
			if !strings.HasPrefix(up, f.prefix) || len(p) == len(f.prefix) {
				continue
			}
			rest := p[len(f.prefix):]
			if f.home != "" {
				if home == "" {
					return "", false, errNoHome
				}
				if f.home == "." {
					return strings.TrimRight(home, `\/`) + `\` + rest, true, nil
				}
				return strings.TrimRight(home, `\/`) + `\` + f.home + `\` + rest, true, nil
			}
			base := getenv(f.env)
			if base == "" {
				return "", false, fmt.Errorf("the service's environment has no %s for %s", f.env, p)
			}
			return strings.TrimRight(base, `\/`) + `\` + rest, false, nil
		}
		if len(p) > 3 && p[1] == ':' && p[2] == '\\' {
			return windowsWithRoot(systemRoot, p), false, nil
		}
		return "", false, fmt.Errorf("path %q is neither absolute nor under a known folder", p)
	}
	switch {
	case strings.HasPrefix(p, "~/") && len(p) > 2:
		if home == "" {
			return "", false, errNoHome
		}
		return path.Join(home, p[2:]), true, nil
	case strings.HasPrefix(p, "/") && len(p) > 1:
		if systemRoot != "" {
			return path.Join(systemRoot, p), false, nil
		}
		return p, false, nil
	}
	return "", false, fmt.Errorf("path %q is neither absolute nor under ~/", p)
}

// windowsWithRoot puts C:\x under a test root as root\x.
func windowsWithRoot(root, p string) string {
	if root == "" {
		return p
	}
	return filepath.Join(root, filepath.FromSlash(strings.ReplaceAll(p[2:], `\`, "/")))
}
