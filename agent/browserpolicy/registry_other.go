//go:build !windows

package browserpolicy

import (
	"errors"
	"fmt"
)

func newRegistry() (place, error) {
	return nil, fmt.Errorf("the Windows registry: %w on this operating system", errors.ErrUnsupported)
}
