//go:build unix

package main

import "golang.org/x/sys/unix"

// raiseFileLimit raises RLIMIT_NOFILE's soft limit to the hard limit, and
// both to want when the process may (root); it returns the soft limit in
// force afterwards. Every simulated agent holds one socket.
func raiseFileLimit(want uint64) (uint64, error) {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	if want > r.Max {
		// Only a privileged process may raise the hard limit; if this
		// one may not, the hard limit below is what it gets.
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: want, Max: want}); err == nil {
			return want, nil
		}
	}
	if r.Cur < r.Max {
		next := unix.Rlimit{Cur: r.Max, Max: r.Max}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &next); err != nil {
			// macOS refuses a soft limit above kern.maxfilesperproc even
			// when the hard limit is "unlimited".
			return r.Cur, err
		}
		return r.Max, nil
	}
	return r.Cur, nil
}
