//go:build !linux && !darwin && !windows

package procwatch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

type osWatcher struct{}

func newOSWatcher(*Watcher) *osWatcher { return &osWatcher{} }

var errNotImplemented = fmt.Errorf("process watching is not implemented on %s: %w", runtime.GOOS, errors.ErrUnsupported)

func (*osWatcher) fullScan(context.Context) (map[int32]Process, error) { return nil, errNotImplemented }
func (*osWatcher) poll(context.Context) (Changes, error)               { return Changes{}, errNotImplemented }
func (*osWatcher) run(context.Context, func(Changes)) error            { return errNotImplemented }

// Parent is not implemented on this OS.
func Parent(int32) (int32, error) { return 0, errNotImplemented }
