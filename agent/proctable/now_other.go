//go:build !linux

package proctable

import "time"

// now: start times are read on the wall clock here.
func (osTable) now() time.Time { return time.Now() }
