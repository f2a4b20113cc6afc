//go:build !unix

package main

// raiseFileLimit has nothing to raise where descriptors are not limited by
// RLIMIT_NOFILE (Windows); 0 means unknown.
func raiseFileLimit(uint64) (uint64, error) { return 0, nil }
