package localipc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"unsafe"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// DefaultPath is the named pipe the service listens on.
const DefaultPath = `\\.\pipe\vcguard-notify`

// pipeSDDL is the pipe's security descriptor: a protected DACL giving
// SYSTEM and Administrators full access (the service creates further
// pipe instances, which needs FILE_CREATE_PIPE_INSTANCE) and interactive
// users (IU) read and write only: 0x12019b is FILE_GENERIC_READ |
// FILE_GENERIC_WRITE without FILE_APPEND_DATA, which on a pipe is
// FILE_CREATE_PIPE_INSTANCE, so a user cannot add an instance of their
// own to catch other users' notifiers. Network logons get nothing.
const pipeSDDL = "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x12019b;;;IU)"

// clientAccess is what the notifier asks for: read, and write data (no
// FILE_APPEND_DATA, which the DACL does not grant to users).
const clientAccess = windows.GENERIC_READ | windows.FILE_WRITE_DATA

// ipcListen creates the named pipe (see pipeListener). The first
// instance is created with FILE_FLAG_FIRST_PIPE_INSTANCE: if anyone already
// owns the name, this fails instead of sharing it.
func ipcListen(path string, _ *slog.Logger) (net.Listener, error) {
	ln, err := listenPipe(path, pipeSDDL, MaxFrameSize)
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) {
			return nil, fmt.Errorf("another process already owns the pipe %s (is a second vcguard service running?): %w", path, err)
		}
		return nil, err
	}
	return ln, nil
}

func ipcDial(ctx context.Context, path string) (net.Conn, error) {
	c, err := winio.DialPipeAccess(ctx, path, clientAccess)
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, windows.ERROR_FILE_NOT_FOUND), errors.Is(err, windows.ERROR_PATH_NOT_FOUND):
		return nil, fmt.Errorf("%w (no pipe at %s)", ErrServiceNotRunning, path)
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return nil, fmt.Errorf("connect to the vcguard service at %s: access denied (the pipe admits interactive users only): %w", path, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return nil, fmt.Errorf("connect to the vcguard service at %s: pipe busy: %w", path, err)
	}
	return nil, fmt.Errorf("connect to the vcguard service at %s: %w", path, err)
}

// peerIdentity asks the pipe for the client's process id and reads that
// process's token: the user SID and the terminal-services session id,
// which is the "uid" of the protocol on Windows.
//
// Limitation: go-winio offers no API for the client's identity, so this
// goes through the process id (GetNamedPipeClientProcessId). If the
// client exits between connecting and this call and its pid is reused,
// the token read is the new process's; the connection is then already
// broken and fails at the next read or write. Impersonating the client
// (ImpersonateNamedPipeClient, not in x/sys) would avoid the pid.
func peerIdentity(c net.Conn) (peerInfo, error) {
	fc, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return peerInfo{}, fmt.Errorf("peer identity: %T has no pipe handle", c)
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(windows.Handle(fc.Fd()), &pid); err != nil {
		return peerInfo{}, fmt.Errorf("peer identity: GetNamedPipeClientProcessId: %w", err)
	}
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return peerInfo{}, fmt.Errorf("peer identity: open process %d: %w", pid, err)
	}
	defer windows.CloseHandle(p)
	var tok windows.Token
	if err := windows.OpenProcessToken(p, windows.TOKEN_QUERY, &tok); err != nil {
		return peerInfo{}, fmt.Errorf("peer identity: token of process %d: %w", pid, err)
	}
	defer tok.Close()
	tu, err := tok.GetTokenUser()
	if err != nil {
		return peerInfo{}, fmt.Errorf("peer identity: user of process %d: %w", pid, err)
	}
	session, err := tokenSessionID(tok)
	if err != nil {
		return peerInfo{}, fmt.Errorf("peer identity: session of process %d: %w", pid, err)
	}
	return peerInfo{UID: int(session), PID: int(pid), User: tu.User.Sid.String()}, nil
}

func tokenSessionID(tok windows.Token) (uint32, error) {
	var id, n uint32
	if err := windows.GetTokenInformation(tok, windows.TokenSessionId, (*byte)(unsafe.Pointer(&id)), uint32(unsafe.Sizeof(id)), &n); err != nil {
		return 0, err
	}
	return id, nil
}

// CurrentUID is the "uid" a notifier puts in its hello on Windows: the
// terminal-services session id of this process, which the service reads
// from the connecting process's token.
func CurrentUID() (int, error) {
	var id uint32
	if err := windows.ProcessIdToSessionId(windows.GetCurrentProcessId(), &id); err != nil {
		return 0, fmt.Errorf("session id of this process: %w", err)
	}
	return int(id), nil
}
