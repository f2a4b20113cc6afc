//go:build !windows

package posture

import (
	"errors"
	"fmt"
)

// readRegistry: only Windows has a registry.
func readRegistry(key, _ string, _ Owner) (string, bool, error) {
	return "", false, fmt.Errorf("registry %s: %w", key, errors.ErrUnsupported)
}
