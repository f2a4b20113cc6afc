package localipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Client is the notifier's side of the connection. Next and Hello may
// not be called concurrently with each other; Ack may be called from
// another goroutine.
type Client struct {
	*conn
	path   string
	rmu    sync.Mutex
	closed chan struct{}
	once   sync.Once
}

// Dial connects to the service at path (DefaultPath when ""). When the
// service is not running the error wraps ErrServiceNotRunning and says
// where it looked; the notifier should retry with a backoff.
func Dial(ctx context.Context, path string) (*Client, error) {
	if path == "" {
		path = DefaultPath
	}
	c, err := ipcDial(ctx, path)
	if err != nil {
		return nil, err
	}
	return &Client{conn: newConn(c), path: path, closed: make(chan struct{})}, nil
}

// Hello introduces the notifier and waits for the service's answer. A
// refusal wraps ErrRefused with the service's reason; the connection is
// then unusable.
func (c *Client) Hello(ctx context.Context, h Hello) error {
	if err := c.send(Frame{Type: FrameHello, Hello: h}); err != nil {
		return err
	}
	for {
		f, err := c.read(ctx)
		if err != nil {
			return err
		}
		switch f.Type {
		case FrameWelcome:
			return nil
		case FramePing:
		case FrameRefused:
			return fmt.Errorf("%w: %s", ErrRefused, f.Reason)
		default:
			return fmt.Errorf("ipc: %w: %s frame before the service answered the hello", ErrBadFrame, f.Type)
		}
	}
}

// Next waits for the next notice. It returns ctx.Err() when ctx ends
// (the connection stays usable), an error wrapping ErrServiceGone when
// the service hangs up, and an ErrBadFrame or ErrFrameTooLarge error if
// the service sends something invalid. On any error but ctx's the
// notifier should Close and redial.
func (c *Client) Next(ctx context.Context) (Notice, error) {
	for {
		f, err := c.read(ctx)
		if err != nil {
			return Notice{}, err
		}
		switch f.Type {
		case FrameNotice:
			return f.Notice, nil
		case FramePing:
		case FrameRefused:
			return Notice{}, fmt.Errorf("%w: %s", ErrRefused, f.Reason)
		default:
			return Notice{}, fmt.Errorf("ipc: %w: unexpected %s frame from the service", ErrBadFrame, f.Type)
		}
	}
}

// Ack tells the service that the notice with key was displayed.
func (c *Client) Ack(key string) error {
	return c.send(Frame{Type: FrameShown, Key: key})
}

// NotShown tells the service that the notice with key could not be
// displayed, and why. The reason is made one line of at most
// MaxNotShownReason bytes (an empty one becomes "unknown error").
func (c *Client) NotShown(key, reason string) error {
	return c.send(Frame{Type: FrameNotShown, Key: key, Reason: OneLine(reason, MaxNotShownReason)})
}

// OneLine makes s one line of valid UTF-8 of at most max bytes, without
// control characters (each run of them becomes a space), cut at a
// character boundary; "" becomes "unknown error".
func OneLine(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, "?") {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
			space = true
			continue
		}
		sep := space && b.Len() > 0
		space = false
		if n := utf8.RuneLen(r); sep && b.Len()+1+n > max || b.Len()+n > max {
			break
		}
		if sep {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "unknown error"
	}
	return b.String()
}

// Media reports the cameras and microphones in use as this session sees
// them; the service keeps the report for MediaTTL. It
// may be called from another goroutine than Next.
func (c *Client) Media(ms []MediaUse) error {
	return c.send(Frame{Type: FrameMedia, Media: ms})
}

// Close closes the connection; a blocked Next returns net.ErrClosed.
func (c *Client) Close() error {
	var err error
	c.once.Do(func() {
		close(c.closed)
		err = c.c.Close()
	})
	return err
}

func (c *Client) send(f Frame) error {
	if err := c.writeFrame(f, ipcWriteTimeout); err != nil {
		return c.connError("send "+f.Type, err)
	}
	return nil
}

// read reads one frame, interruptible by ctx without losing data.
func (c *Client) read(ctx context.Context) (Frame, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.c.SetReadDeadline(time.Unix(1, 0))
		close(interrupted)
	})
	line, err := c.r.next()
	if !stop() {
		<-interrupted
		_ = c.c.SetReadDeadline(time.Time{})
		if err != nil && isIPCTimeout(err) {
			return Frame{}, ctx.Err()
		}
	}
	if err != nil {
		return Frame{}, c.connError("read", err)
	}
	f, err := DecodeFrame(line)
	if err != nil {
		return Frame{}, fmt.Errorf("ipc: from the service: %w", err)
	}
	return f, nil
}

// isIPCTimeout reports a read interrupted by its deadline.
func isIPCTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func (c *Client) connError(op string, err error) error {
	select {
	case <-c.closed:
		return fmt.Errorf("ipc: %s: %w", op, net.ErrClosed)
	default:
	}
	if errors.Is(err, ErrFrameTooLarge) {
		return fmt.Errorf("ipc: %s from the service: %w", op, err)
	}
	return fmt.Errorf("%w (%s): %s: %v", ErrServiceGone, c.path, op, err)
}
