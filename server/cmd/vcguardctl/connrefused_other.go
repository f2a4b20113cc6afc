//go:build !windows

package main

import (
	"errors"
	"syscall"
)

// connRefused reports whether err is a connection the peer refused.
func connRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
