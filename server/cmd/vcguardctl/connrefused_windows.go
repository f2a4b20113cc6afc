package main

import (
	"errors"

	"golang.org/x/sys/windows"
)

// connRefused reports whether err is a connection the peer refused. Windows
// says so with WSAECONNREFUSED (10061), which syscall.ECONNREFUSED (an
// errno Go invents on Windows) does not match.
func connRefused(err error) bool { return errors.Is(err, windows.WSAECONNREFUSED) }
