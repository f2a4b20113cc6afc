//go:build !linux && !darwin && !windows

package proctable

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"time"
)

var errNotImplemented = fmt.Errorf("the process table is not implemented on %s: %w", runtime.GOOS, errors.ErrUnsupported)

type osTable struct{}

type osHandle struct{}

func newOSTable(Config) *osTable { return &osTable{} }

func (*osTable) close()                                       {}
func (*osTable) list() ([]Entry, error)                       { return nil, errNotImplemented }
func (*osTable) appendPIDs(dst []int32) ([]int32, error)      { return dst, errNotImplemented }
func (*osTable) appendComm(d []byte, _ int32) ([]byte, error) { return d, errNotImplemented }
func (*osTable) withStarts(es []Entry) []Entry                { return es }
func (*osTable) stat(int32) (Process, error)                  { return Process{}, errNotImplemented }
func (*osTable) startOf(int32) (ID, error)                    { return ID{}, errNotImplemented }
func (*osTable) parent(int32) (int32, error)                  { return 0, errNotImplemented }
func (*osTable) exe(int32) (string, error)                    { return "", errNotImplemented }
func (*osTable) owner(int32) (Owner, error) {
	return Owner{UID: -1, EUID: -1, Session: -1}, errNotImplemented
}
func (*osTable) time(int64) (time.Time, error)                { return time.Time{}, errNotImplemented }
func (*osTable) open(int32) (*Handle, error)                  { return nil, errNotImplemented }
func (*osTable) wait(hs []*Handle, _ time.Duration) []*Handle { return hs }

// Close releases the handle.
func (*Handle) Close() {}

// Signal is not implemented on this OS.
func (*Handle) Signal(syscall.Signal) error { return errNotImplemented }

// Alive is not implemented on this OS.
func (*Handle) Alive() bool { return false }

// Exe is not implemented on this OS.
func (*Handle) Exe() (string, error) { return "", errNotImplemented }
