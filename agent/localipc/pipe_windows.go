package localipc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
	"unsafe"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// pipeListener is the service's named pipe. It creates the pipe's
// instances itself and hands each connected one to go-winio, which does the
// overlapped reads and writes with deadlines.
//
// Written by hand instead of winio.ListenPipe: ListenPipe reserves the name
// with a first instance opened without read or write access, which Windows
// 10 keeps closed to clients. Wine (and, by go-winio issues #173 and #313,
// Windows 7 and Server 2008 R2) lets a client connect to that instance,
// which nobody ever accepts: the notifier's hello then waits for ever (seen
// in the Windows lane: the client's read and the listener's
// ConnectNamedPipe on the next instance both pending). Here every instance
// is a real listening one, and the first is created with
// FILE_FLAG_FIRST_PIPE_INSTANCE so that a name someone else owns is refused.
type pipeListener struct {
	path string
	sa   *windows.SecurityAttributes
	buf  uint32
	stop windows.Handle // event: Close was called

	mu        sync.Mutex
	next      windows.Handle // the instance waiting for a client; 0 when none
	accepting bool
	closed    bool
}

// listenPipe creates the pipe at path with the security descriptor sddl.
func listenPipe(path, sddl string, bufSize uint32) (*pipeListener, error) {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return nil, fmt.Errorf("pipe security descriptor %q: %w", sddl, err)
	}
	l := &pipeListener{
		path: path, buf: bufSize,
		sa: &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd},
	}
	if l.next, err = l.instance(true); err != nil {
		return nil, err
	}
	if l.stop, err = windows.CreateEvent(nil, 1, 0, nil); err != nil {
		windows.CloseHandle(l.next)
		return nil, fmt.Errorf("pipe %s: %w", path, err)
	}
	return l, nil
}

// instance creates an instance of the pipe for one client.
func (l *pipeListener) instance(first bool) (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString(l.path)
	if err != nil {
		return 0, err
	}
	mode := uint32(windows.PIPE_ACCESS_DUPLEX | windows.FILE_FLAG_OVERLAPPED)
	if first {
		mode |= windows.FILE_FLAG_FIRST_PIPE_INSTANCE
	}
	h, err := windows.CreateNamedPipe(name, mode,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		windows.PIPE_UNLIMITED_INSTANCES, l.buf, l.buf, 0, l.sa)
	if err != nil {
		return 0, &net.OpError{Op: "listen", Net: "pipe", Addr: pipeAddr(l.path), Err: err}
	}
	return h, nil
}

// errListenerClosed ends a wait for a client because Close was called.
var errListenerClosed = errors.New("pipe listener closed")

// Accept waits for a client on the waiting instance, makes the next
// instance ready for the client after it, and returns the connection.
func (l *pipeListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, net.ErrClosed
	}
	l.accepting = true
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.accepting = false
		if l.closed && l.next != 0 {
			windows.CloseHandle(l.next)
			l.next = 0
		}
		l.mu.Unlock()
	}()
	for {
		h := l.next
		if h == 0 {
			var err error
			if h, err = l.instance(false); err != nil {
				return nil, err
			}
			l.next = h
		}
		err := l.waitClient(h)
		if errors.Is(err, errListenerClosed) {
			return nil, net.ErrClosed
		}
		l.next = 0
		if err != nil {
			windows.CloseHandle(h)
			if errors.Is(err, windows.ERROR_NO_DATA) {
				continue // the client came and went before it was accepted
			}
			return nil, &net.OpError{Op: "accept", Net: "pipe", Addr: pipeAddr(l.path), Err: err}
		}
		f, err := winio.NewOpenFile(h)
		if err != nil {
			windows.CloseHandle(h)
			return nil, &net.OpError{Op: "accept", Net: "pipe", Addr: pipeAddr(l.path), Err: err}
		}
		// The next client finds an instance at once (one is created
		// lazily if this fails; Accept reports it then).
		if next, err := l.instance(false); err == nil {
			l.next = next
		}
		return &pipeConn{f: f.(pipeFile), path: l.path}, nil
	}
}

// waitClient waits until a client connects to h, or Close is called.
func (l *pipeListener) waitClient(h windows.Handle) error {
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(ev)
	ov := &windows.Overlapped{HEvent: ev}
	switch err := windows.ConnectNamedPipe(h, ov); {
	case err == nil, errors.Is(err, windows.ERROR_PIPE_CONNECTED):
		return nil
	case !errors.Is(err, windows.ERROR_IO_PENDING):
		return err
	}
	r, err := windows.WaitForMultipleObjects([]windows.Handle{ev, l.stop}, false, windows.INFINITE)
	var n uint32
	if err == nil && r == windows.WAIT_OBJECT_0 {
		return windows.GetOverlappedResult(h, ov, &n, false)
	}
	// Closed (or the wait failed): cancel the connect and wait until the
	// system no longer uses ov.
	windows.CancelIoEx(h, ov)
	windows.GetOverlappedResult(h, ov, &n, true)
	if err != nil {
		return err
	}
	return errListenerClosed
}

// Close stops Accept; connections already accepted stay open.
func (l *pipeListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	windows.SetEvent(l.stop)
	if !l.accepting && l.next != 0 {
		windows.CloseHandle(l.next)
		l.next = 0
	}
	return nil
}

// Addr is the pipe's path.
func (l *pipeListener) Addr() net.Addr { return pipeAddr(l.path) }

type pipeAddr string

func (pipeAddr) Network() string  { return "pipe" }
func (a pipeAddr) String() string { return string(a) }

// pipeFile is what winio.NewOpenFile returns.
type pipeFile interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	Fd() uintptr
}

// pipeConn is the service's end of one notifier connection.
type pipeConn struct {
	f    pipeFile
	path string
}

// Read reads from the client; a client that has gone is io.EOF.
func (c *pipeConn) Read(b []byte) (int, error) {
	n, err := c.f.Read(b)
	if errors.Is(err, windows.ERROR_BROKEN_PIPE) || errors.Is(err, windows.ERROR_PIPE_NOT_CONNECTED) {
		err = io.EOF
	}
	return n, err
}

func (c *pipeConn) Write(b []byte) (int, error)        { return c.f.Write(b) }
func (c *pipeConn) Close() error                       { return c.f.Close() }
func (c *pipeConn) Fd() uintptr                        { return c.f.Fd() }
func (c *pipeConn) LocalAddr() net.Addr                { return pipeAddr(c.path) }
func (c *pipeConn) RemoteAddr() net.Addr               { return pipeAddr(c.path) }
func (c *pipeConn) SetReadDeadline(t time.Time) error  { return c.f.SetReadDeadline(t) }
func (c *pipeConn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }
func (c *pipeConn) SetDeadline(t time.Time) error {
	return errors.Join(c.f.SetReadDeadline(t), c.f.SetWriteDeadline(t))
}
