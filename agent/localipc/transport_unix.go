//go:build linux || darwin

package localipc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ipcListen opens the unix socket at path: its directory is created 0755 if
// missing and must not be writable by anyone but its owner (us), a stale
// socket is removed, and the socket is made 0666 so every user can
// connect; peerIdentity then decides who is who.
func ipcListen(path string, log *slog.Logger) (net.Listener, error) {
	dir := filepath.Dir(path)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create the socket directory: %w", err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create the socket directory: %w", err)
		}
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("socket directory %s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("socket directory %s is owned by uid %d, not by this service (uid %d); remove it or fix its owner", dir, st.Uid, os.Geteuid())
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return nil, fmt.Errorf("socket directory %s is writable by others (mode %04o); make it 0755", dir, perm)
	}
	if perm := fi.Mode().Perm(); perm&0o005 != 0o005 {
		log.Warn("ipc: users cannot reach the socket directory; notifiers of other users will fail to connect", "dir", dir, "mode", fmt.Sprintf("%04o", perm))
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("make the socket connectable for users: %w", err)
	}
	return ln, nil
}

// removeStale removes a socket left by a service that died, and refuses
// to touch a live one or anything that is not a socket.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket; remove it or choose another path", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("another process already serves notifications on %s (is a second vcguard service running?)", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("check for a stale socket at %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

func ipcDial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, syscall.ENOENT):
		return nil, fmt.Errorf("%w (no socket at %s)", ErrServiceNotRunning, path)
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil, fmt.Errorf("%w (nothing accepts connections on %s)", ErrServiceNotRunning, path)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return nil, fmt.Errorf("connect to the vcguard service at %s: permission denied (the socket should be mode 0666 in a directory of mode 0755): %w", path, err)
	}
	return nil, fmt.Errorf("connect to the vcguard service at %s: %w", path, err)
}

// unixFD runs f with the connection's file descriptor.
func unixFD(c net.Conn, f func(fd int)) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("not a unix socket connection (%T)", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	return raw.Control(func(fd uintptr) { f(int(fd)) })
}

// CurrentUID is the uid a notifier puts in its hello: the effective uid,
// which is what the service sees in the peer credentials.
func CurrentUID() (int, error) { return os.Geteuid(), nil }
