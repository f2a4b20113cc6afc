//go:build unix

package connlimit

import "golang.org/x/sys/unix"

// DescriptorLimit returns the process's limit on open file descriptors
// (RLIMIT_NOFILE's soft limit, which the Go runtime raises to the hard limit
// at start), or 0 if it cannot be read.
func DescriptorLimit() int {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	if r.Cur > 1<<30 {
		return 1 << 30
	}
	return int(r.Cur)
}
