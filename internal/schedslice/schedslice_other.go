//go:build !linux

package schedslice

import "time"

func set(time.Duration) (Result, error) { return Result{}, ErrNotSupported }
