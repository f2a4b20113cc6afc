package atomicfile

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// chmod does nothing: Windows files have ACLs, not modes, and the
// directories vcguard writes into carry the ACL the files need. (os.Chmod
// would only toggle the read-only attribute, which would then block the next
// replace.)
func chmod(*os.File, os.FileMode) error { return nil }

// replaceAttempts and replaceBackoff bound how long replace waits for a
// reader (a virus scanner, the status command) to let go of path.
const (
	replaceAttempts = 8
	replaceBackoff  = 5 * time.Millisecond
)

// replace moves tmp over path with MoveFileEx. MOVEFILE_WRITE_THROUGH makes
// the call return only once the move is on disk, which is what a directory
// sync does elsewhere. A target that someone else holds open without
// FILE_SHARE_DELETE fails with a sharing violation or access denied for as
// long as it is open: such failures are retried with a short backoff.
func replace(tmp, path string) error {
	from, err := windows.UTF16PtrFromString(tmp)
	if err != nil {
		return err
	}
	to, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return err
	}
	wait := replaceBackoff
	for attempt := 1; ; attempt++ {
		err = windows.MoveFileEx(from, to, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
		if err == nil || !transient(err) || attempt == replaceAttempts {
			break
		}
		time.Sleep(wait)
		wait *= 2
	}
	if err != nil {
		return &os.LinkError{Op: "replace", Old: tmp, New: path, Err: err}
	}
	return nil
}

func transient(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) ||
		errors.Is(err, windows.ERROR_ACCESS_DENIED) ||
		errors.Is(err, windows.ERROR_LOCK_VIOLATION)
}

// syncDir does nothing: MOVEFILE_WRITE_THROUGH already flushed the move.
func syncDir(string) error { return nil }
