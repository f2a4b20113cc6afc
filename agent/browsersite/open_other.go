//go:build !unix && !windows

package browsersite

import (
	"errors"
	"fmt"
	"os"
)

// openInHome is not built for this OS.
func openInHome(home, rel string, _ int) (*os.File, error) {
	return nil, fmt.Errorf("open %s in %s: %w", rel, home, errors.ErrUnsupported)
}
