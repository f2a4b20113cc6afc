//go:build linux

package procwatch

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// connectorRcvBuf is the socket's receive buffer: events queue there
	// while the agent is busy, and the kernel drops them (ENOBUFS) when it
	// is full. SO_RCVBUFFORCE (root) may exceed net.core.rmem_max.
	connectorRcvBuf = 4 << 20
	// connectorAckTimeout bounds the wait for the kernel's answer to the
	// subscription. The kernel answers while handling the request, so the
	// answer is normally queued before sendto returns; no answer at all
	// means the request was ignored (a non-initial PID or user namespace).
	connectorAckTimeout = 2 * time.Second
	// connectorMaxDatagrams is how many queued datagrams one read drains
	// before it returns what it has.
	connectorMaxDatagrams = 64
	// connectorMaxPending bounds the events kept while waiting for the
	// subscription's answer; beyond it they are replaced by an overrun.
	connectorMaxPending = 4096
)

// connector is a subscription to the Linux netlink process connector: it
// reports every exec and process exit on the machine, as PIDs in the initial
// PID namespace.
//
// One goroutine calls read; Close may be called from any goroutine at any
// time and unblocks that read.
type connector struct {
	f      *os.File // the non-blocking socket, in the runtime's poller
	raw    syscall.RawConn
	portID uint32 // the socket's netlink port id, assigned by the kernel at bind
	seq    atomic.Uint32
	closed atomic.Bool

	mu      sync.Mutex // held by read; guards what follows
	rbuf    []byte
	acks    []connectorAck
	pending []procEvent // events received while subscribing, returned by the first read
	lost    error       // events were lost: the next read returns this, wrapping errOverrun
}

// openConnector subscribes to process events. Before Linux 6.6 that needs
// CAP_NET_ADMIN (root), and without it the error wraps os.ErrPermission;
// later kernels let any process listen (seen on 6.18). In a container
// (another network, PID or user namespace) the connector is unavailable
// and the error says so. On any error the caller should poll instead.
func openConnector() (*connector, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		// EPROTONOSUPPORT: the kernel has no connector (CONFIG_CONNECTOR)
		// or this is not the initial network namespace.
		return nil, fmt.Errorf("open netlink proc connector socket: %w (kernel without CONFIG_PROC_EVENTS, or a container's network namespace)", err)
	}
	// A large buffer makes drops rarer; both calls fail only in ways that
	// leave the default, which still works.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, connectorRcvBuf) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, connectorRcvBuf) // capped at net.core.rmem_max
	}
	// Before Linux 6.6 joining the group needs CAP_NET_ADMIN: EPERM here.
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("join the netlink proc connector group: %w", explainPermission(err))
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink proc connector: getsockname: %w", err)
	}
	nl, ok := sa.(*unix.SockaddrNetlink)
	if !ok {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink proc connector: getsockname returned %T", sa)
	}
	// From here the runtime's poller owns the descriptor: reads park the
	// goroutine, not a thread, and Close wakes them.
	f := os.NewFile(uintptr(fd), "netlink-proc-connector")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("netlink proc connector: %w", err)
	}
	c := &connector{f: f, raw: raw, portID: nl.Pid, rbuf: make([]byte, 32<<10)}
	if err := c.subscribe(); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

// explainPermission adds what to do to a permission error, keeping it
// matchable with errors.Is(err, os.ErrPermission).
func explainPermission(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: process events need CAP_NET_ADMIN on kernels before 6.6; run the agent as root, as its service does, to use them", err)
	}
	return err
}

// subscribe sends PROC_CN_MCAST_LISTEN and waits for the kernel's answer.
func (c *connector) subscribe() error {
	deadline := time.Now().Add(connectorAckTimeout)
	if err := c.f.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("netlink proc connector: the socket is not pollable: %w", err)
	}
	defer c.f.SetReadDeadline(time.Time{})
	if err := c.send(procCNMcastListen); err != nil {
		return fmt.Errorf("subscribe to process events: %w", explainPermission(err))
	}
	ack, err := c.awaitAck(deadline)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return noAnswerError(hasCapNetAdmin())
	case err != nil:
		return fmt.Errorf("subscribe to process events: %w", err)
	case ack.Err != 0:
		return ackError(ack)
	}
	// Kernels with event filtering (6.6 and later) then send only exec and
	// exit, not the forks, thread creations and renames that would
	// otherwise fill the buffer; older ones ignore a request of this size
	// and keep sending all. Filtering comes second because a filtered
	// socket does not receive the answer, which is how the first request
	// is known to have worked. Listening again does not count the socket
	// twice on kernels that understand it.
	_ = c.send(procCNMcastListen, procEventExec|procEventExit)
	return nil
}

// ackError is the error for a refused subscription: before Linux 6.6 the
// kernel answers EPERM to a process without CAP_NET_ADMIN (when another
// process already listens).
func ackError(a connectorAck) error {
	return fmt.Errorf("subscribe to process events: the kernel refused: %w", explainPermission(syscall.Errno(a.Err)))
}

// noAnswerError is the error when the kernel does not answer: it ignores
// requests from a non-initial PID or user namespace, and before Linux 6.6
// it refuses a process without CAP_NET_ADMIN without answering when no
// one else listens.
func noAnswerError(capNetAdmin bool) error {
	if !capNetAdmin {
		return fmt.Errorf("subscribe to process events: no answer from the kernel within %v: %w", connectorAckTimeout, explainPermission(os.ErrPermission))
	}
	return fmt.Errorf("subscribe to process events: no answer from the kernel within %v; it ignores requests from a non-initial PID or user namespace (a container): %w", connectorAckTimeout, errors.ErrUnsupported)
}

// awaitAck receives until the kernel answers this socket's request, keeping
// the events that arrive meanwhile for the first read. The socket's read
// deadline ends the wait when nothing arrives; deadline ends it when
// other listeners' events keep coming.
func (c *connector) awaitAck(deadline time.Time) (connectorAck, error) {
	var (
		found  connectorAck
		ok     bool
		opErr  error
		events []procEvent
	)
	err := c.raw.Read(func(fd uintptr) bool {
		for n := 1; ; n++ {
			if n%connectorMaxDatagrams == 0 && time.Now().After(deadline) {
				opErr = os.ErrDeadlineExceeded
				return true
			}
			dgram, err := c.recv(int(fd))
			if err == unix.EAGAIN {
				return false
			}
			if errors.Is(err, errOverrun) {
				// Events overflowed the buffer. The answer is queued
				// while the request is sent, behind next to nothing, so
				// it is still there (else the wait times out); the
				// first read reports the loss.
				c.lost = err
				continue
			}
			if err != nil {
				opErr = err
				return true
			}
			events, c.acks, err = parseConnectorMessages(dgram, events[:0], c.acks[:0])
			if len(c.pending)+len(events) > connectorMaxPending {
				c.pending, c.lost = nil, errOverrun
			} else {
				c.pending = append(c.pending, events...)
			}
			if err != nil {
				c.lost = lostEvents(err)
			}
			for _, a := range c.acks {
				// The kernel multicasts every socket's answer, with ack
				// set to the request's ack + 1: only this socket sends
				// ack == portID. (The answer's seq is not the request's
				// on current kernels, which number it as an event.)
				if a.Ack == c.portID+1 {
					found, ok = a, true
					return true
				}
			}
		}
	})
	if err == nil {
		err = opErr
	}
	if err == nil && !ok {
		err = errors.New("netlink proc connector: no answer") // not reached: the callback stops only with one
	}
	return found, err
}

// lostEvents is what read reports for a datagram that did not decode:
// errOverrun itself for NLMSG_OVERRUN, else errOverrun wrapping why.
func lostEvents(parseErr error) error {
	if errors.Is(parseErr, errOverrun) {
		return errOverrun
	}
	return fmt.Errorf("%w: %w", errOverrun, parseErr)
}

// recv receives one datagram sent by the kernel from the non-blocking fd,
// skipping any other sender. It returns unix.EAGAIN when none is queued,
// and an error wrapping errOverrun when the kernel dropped events (or sent
// a datagram too large for the buffer).
func (c *connector) recv(fd int) ([]byte, error) {
	for {
		n, _, flags, from, err := unix.Recvmsg(fd, c.rbuf, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ENOBUFS {
			return nil, errOverrun
		}
		if err != nil {
			return nil, err
		}
		// Another process with CAP_NET_ADMIN can send to this socket's
		// port id: only the kernel (port 0) is believed.
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue
		}
		if flags&unix.MSG_TRUNC != 0 {
			return nil, lostEvents(fmt.Errorf("%w: datagram larger than %d bytes", errMalformed, len(c.rbuf)))
		}
		return c.rbuf[:n], nil
	}
}

// send sends a PROC_CN_MCAST_* request to the kernel: the op, and for
// newer kernels the events wanted.
func (c *connector) send(payload ...uint32) error {
	seq := c.seq.Add(1)
	// ack = portID, so the kernel's answer (ack + 1) names this socket.
	msg := appendConnectorRequest(make([]byte, 0, 64), seq, c.portID, c.portID, payload...)
	var sendErr error
	err := c.raw.Write(func(fd uintptr) bool {
		for {
			sendErr = unix.Sendto(int(fd), msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
			if sendErr != unix.EINTR {
				return sendErr != unix.EAGAIN
			}
		}
	})
	if err == nil {
		err = sendErr
	}
	if err != nil {
		return fmt.Errorf("send to the netlink proc connector: %w", err)
	}
	return nil
}

// read blocks until at least one event arrives and returns the events,
// appended to buf[:0]. After the kernel dropped events it returns
// errOverrun once (the caller rescans) and then keeps working; a datagram
// that does not decode is reported the same way, with an error wrapping
// errOverrun. After Close it returns an error wrapping net.ErrClosed.
func (c *connector) read(buf []procEvent) ([]procEvent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	buf = buf[:0]
	if c.closed.Load() {
		return buf, fmt.Errorf("read netlink proc connector: %w", net.ErrClosed)
	}
	if len(c.pending) > 0 {
		buf = append(buf, c.pending...)
		c.pending = nil
		return buf, nil
	}
	if lost := c.lost; lost != nil {
		c.lost = nil
		return buf, lost
	}
	var lost, failed error
	for len(buf) == 0 && lost == nil && failed == nil {
		err := c.raw.Read(func(fd uintptr) bool {
			for range connectorMaxDatagrams {
				dgram, err := c.recv(int(fd))
				switch {
				case err == unix.EAGAIN:
					return len(buf) > 0 // else wait for the next datagram
				case errors.Is(err, errOverrun):
					lost = err
					return true
				case err != nil:
					failed = err
					return true
				}
				if buf, c.acks, err = parseConnectorMessages(dgram, buf, c.acks[:0]); err != nil {
					lost = lostEvents(err)
					return true
				}
			}
			return true
		})
		if err != nil {
			if c.closed.Load() {
				err = net.ErrClosed
			}
			return buf[:0], fmt.Errorf("read netlink proc connector: %w", err)
		}
	}
	if failed != nil {
		return buf[:0], fmt.Errorf("read netlink proc connector: %w", failed)
	}
	if lost != nil && len(buf) > 0 {
		// The loss came after the events in buf: deliver these first.
		c.lost = lost
		return buf, nil
	}
	return buf, lost
}

// Close unsubscribes (PROC_CN_MCAST_IGNORE, so the kernel stops building
// events nobody reads once the last listener is gone) and closes the
// socket, unblocking a read in progress. Calling it again does nothing.
func (c *connector) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	errIgnore := c.send(procCNMcastIgnore)
	errClose := c.f.Close()
	if errClose != nil {
		return fmt.Errorf("close netlink proc connector: %w", errClose)
	}
	return errIgnore
}

// hasCapNetAdmin reports whether this process holds CAP_NET_ADMIN in its
// effective set.
func hasCapNetAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_NET_ADMIN) != 0
}
