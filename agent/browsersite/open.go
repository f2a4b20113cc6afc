package browsersite

import (
	"fmt"
	"io"
	"strings"
)

// Bounds on the JSON files read from a Chromium profile. Preferences holds
// every per-site setting of the profile (site engagement, media engagement,
// extension state) and reaches several MiB on a long-used profile; Local
// State is smaller. 16 MiB leaves room for that while bounding what a file
// the person controls can make a root process allocate.
const (
	maxPreferencesBytes = 16 << 20
	maxLocalStateBytes  = 16 << 20
)

// splitRel checks a "/"-separated path relative to a home directory and
// returns its components: none may be empty, "." or "..".
func splitRel(rel string) ([]string, error) {
	if rel == "" {
		return nil, fmt.Errorf("empty path")
	}
	parts := strings.Split(rel, "/")
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "\\\x00") {
			return nil, fmt.Errorf("%q is not a plain relative path", rel)
		}
	}
	return parts, nil
}

// readInHome reads the regular file rel below home (see openInHome), at
// most limit bytes; a longer file is an error, not a truncated read.
func readInHome(home, rel string, uid int, limit int64) ([]byte, error) {
	f, err := openInHome(home, rel, uid)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d MiB, not read", f.Name(), limit>>20)
	}
	return data, nil
}

// fileError is the error for a file refused before reading.
func fileError(path, why string) error {
	return fmt.Errorf("%s: %s, not read", path, why)
}
