package appid

import (
	"errors"
	"fmt"
	"strings"
)

// RPMQueryFormat is the --queryformat ParseRpmQF reads:
// rpm -qf --queryformat "$RPMQueryFormat" PATH.
const RPMQueryFormat = `%{NAME}\t%{EPOCH}:%{VERSION}-%{RELEASE}\n`

// ErrNotOwned says that no package owns a file.
var ErrNotOwned = errors.New("not owned by any package")

// ParseRpmQF reads the output of rpm -qf with RPMQueryFormat and returns the
// first owning package and its version as [EPOCH:]VERSION-RELEASE (an unset
// epoch, "(none)" or 0, is dropped). "file X is not owned by any package" gives
// ErrNotOwned.
func ParseRpmQF(output string) (name, version string, err error) {
	pkgs, err := parseRpmQFLines(output)
	if err != nil {
		return "", "", err
	}
	return pkgs[0].name, pkgs[0].version, nil
}

type rpmOwner struct{ name, version string }

// parseRpmQFLines reads every owner rpm printed (a file can belong to more
// than one package).
func parseRpmQFLines(output string) ([]rpmOwner, error) {
	var owners []rpmOwner
	for i, line := range strings.Split(output, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.Contains(line, "is not owned by any package") {
			return nil, fmt.Errorf("rpm: %s: %w", strings.TrimSpace(line), ErrNotOwned)
		}
		name, ver, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("rpm output line %d: expected NAME<tab>EPOCH:VERSION-RELEASE, got %q", i+1, clip(line))
		}
		name = strings.TrimSpace(name)
		ver = strings.TrimSpace(ver)
		if name == "" || strings.ContainsAny(name, " /") {
			return nil, fmt.Errorf("rpm output line %d: bad package name %q", i+1, clip(name))
		}
		epoch, rest, ok := strings.Cut(ver, ":")
		if !ok {
			return nil, fmt.Errorf("rpm output line %d: version %q has no EPOCH: part", i+1, clip(ver))
		}
		if rest == "" || rest == "-" || strings.HasPrefix(rest, "-") {
			return nil, fmt.Errorf("rpm output line %d: empty version in %q", i+1, clip(ver))
		}
		switch {
		case epoch == "(none)" || epoch == "" || strings.Trim(epoch, "0") == "":
			ver = rest
		case strings.Trim(epoch, "0123456789") == "":
			ver = epoch + ":" + rest
		default:
			return nil, fmt.Errorf("rpm output line %d: bad epoch %q", i+1, clip(epoch))
		}
		owners = append(owners, rpmOwner{name: name, version: ver})
	}
	if len(owners) == 0 {
		return nil, errors.New("rpm: empty output")
	}
	return owners, nil
}
