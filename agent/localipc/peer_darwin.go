package localipc

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// DefaultPath is where the service listens and the notifier connects.
const DefaultPath = "/var/run/vcguard/notify.sock"

// xucredVersion is XUCRED_VERSION from <sys/ucred.h>.
const xucredVersion = 0

// peerIdentity reads LOCAL_PEERCRED (the uid the peer had at connect())
// and LOCAL_PEERPID.
func peerIdentity(c net.Conn) (peerInfo, error) {
	var cred *unix.Xucred
	var credErr error
	pid := 0
	if err := unixFD(c, func(fd int) {
		cred, credErr = unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if p, err := unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID); err == nil {
			pid = p
		}
	}); err != nil {
		return peerInfo{}, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return peerInfo{}, fmt.Errorf("peer credentials (LOCAL_PEERCRED): %w", credErr)
	}
	if cred.Version != xucredVersion {
		return peerInfo{}, fmt.Errorf("peer credentials (LOCAL_PEERCRED): unknown xucred version %d", cred.Version)
	}
	return peerInfo{UID: int(cred.Uid), PID: pid}, nil
}
