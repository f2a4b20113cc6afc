package appid

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxSnapYAMLSize bounds what is read of meta/snap.yaml.
const maxSnapYAMLSize = 1 << 20

// ParseSnapYAMLVersion returns the version: of a snap's meta/snap.yaml,
// as written (an unquoted 5.10 stays "5.10").
func ParseSnapYAMLVersion(data []byte) (string, error) {
	if len(data) > maxSnapYAMLSize {
		return "", fmt.Errorf("snap.yaml: %d bytes, more than the %d allowed", len(data), maxSnapYAMLSize)
	}
	var doc struct {
		Version yaml.Node `yaml:"version"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", fmt.Errorf("snap.yaml: %w", err)
	}
	v := doc.Version
	if v.Kind == 0 {
		return "", errors.New("snap.yaml: no version")
	}
	if v.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("snap.yaml line %d: version is not a scalar", v.Line)
	}
	s := strings.TrimSpace(v.Value)
	if s == "" {
		return "", fmt.Errorf("snap.yaml line %d: empty version", v.Line)
	}
	return s, nil
}

// snapFromPath splits /snap/NAME/REVISION/... into the snap's name (without
// a parallel-install "_key" suffix), its instance name and revision.
func snapFromPath(exe string) (name, instance, revision string, ok bool) {
	rest, ok := strings.CutPrefix(exe, "/snap/")
	if !ok {
		return "", "", "", false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 3 || parts[2] == "" {
		return "", "", "", false
	}
	instance, revision = parts[0], parts[1]
	name, _, _ = strings.Cut(instance, "_")
	if !validSnapName(name) || !validSnapRevision(revision) || strings.Count(instance, "_") > 1 {
		return "", "", "", false
	}
	if _, key, found := strings.Cut(instance, "_"); found && !validSnapName(key) {
		return "", "", "", false
	}
	return name, instance, revision, true
}

// validSnapName: lower-case letters, digits and inner hyphens.
func validSnapName(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// validSnapRevision: a store revision (digits), a local one (x + digits)
// or the "current" link.
func validSnapRevision(s string) bool {
	if s == "current" {
		return true
	}
	s = strings.TrimPrefix(s, "x")
	if s == "" || len(s) > 20 {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}
