package localipc

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// DefaultPath is where the service listens and the notifier connects.
const DefaultPath = "/run/vcguard/notify.sock"

// peerIdentity reads SO_PEERCRED: the credentials of the process that
// connected, as the kernel recorded them at connect().
func peerIdentity(c net.Conn) (peerInfo, error) {
	var cred *unix.Ucred
	var credErr error
	if err := unixFD(c, func(fd int) {
		cred, credErr = unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return peerInfo{}, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return peerInfo{}, fmt.Errorf("peer credentials (SO_PEERCRED): %w", credErr)
	}
	return peerInfo{UID: int(cred.Uid), PID: int(cred.Pid)}, nil
}
