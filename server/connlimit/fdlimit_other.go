//go:build !unix

package connlimit

// DescriptorLimit returns 0: Windows has no per-process descriptor limit to
// read (sockets are handles, bounded by memory).
func DescriptorLimit() int { return 0 }
