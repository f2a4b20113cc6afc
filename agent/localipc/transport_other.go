//go:build !linux && !darwin && !windows

package localipc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
)

// DefaultPath is empty: the local IPC is not implemented on this OS.
const DefaultPath = ""

var errIPCUnsupported = fmt.Errorf("local IPC is not implemented on %s: %w", runtime.GOOS, errors.ErrUnsupported)

func ipcListen(string, *slog.Logger) (net.Listener, error) { return nil, errIPCUnsupported }

func ipcDial(context.Context, string) (net.Conn, error) { return nil, errIPCUnsupported }

func peerIdentity(net.Conn) (peerInfo, error) { return peerInfo{}, errIPCUnsupported }

// CurrentUID is not implemented on this OS.
func CurrentUID() (int, error) { return 0, errIPCUnsupported }
