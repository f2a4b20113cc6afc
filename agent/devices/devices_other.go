//go:build !linux && !darwin && !windows

package devices

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

var errNotImplemented = fmt.Errorf("camera/microphone detection is not implemented on %s: %w", runtime.GOOS, errors.ErrUnsupported)

type otherChecker struct{}

func newOSChecker(Config) osChecker { return otherChecker{} }

func (otherChecker) check(context.Context) ([]Use, error)           { return nil, errNotImplemented }
func (otherChecker) start(context.Context) (<-chan struct{}, error) { return nil, errNotImplemented }
