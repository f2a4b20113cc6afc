package memtrim

import (
	"fmt"

	"golang.org/x/sys/windows"
)

func trimImage() (Stats, error) {
	// (SIZE_T)-1 for both sizes empties the working set (the
	// SetProcessWorkingSetSizeEx documentation).
	if err := windows.SetProcessWorkingSetSizeEx(windows.CurrentProcess(), ^uintptr(0), ^uintptr(0), 0); err != nil {
		return Stats{}, fmt.Errorf("memtrim: SetProcessWorkingSetSizeEx: %w", err)
	}
	return Stats{Mappings: 1}, nil
}
