package localipc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// frameReader reads size-prefixed frames of at most MaxFrameSize bytes.
// Its buffer grows to one whole frame at most, and a size over the limit
// is refused before the frame is read. A read interrupted by a deadline
// keeps what it read and resumes on the next call.
type frameReader struct {
	r          io.Reader
	buf        []byte
	start, end int   // unread data is buf[start:end]
	pending    error // the error of the last Read, once its bytes are looked at
	err        error // sticky: too large, malformed size, or the end of the stream
}

// frameReaderMax is the buffer limit: a whole frame and its size.
var frameReaderMax = maxPrefix + MaxFrameSize

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: r}
}

// next returns the next frame without its size prefix. The slice is valid
// until the next call.
func (fr *frameReader) next() ([]byte, error) {
	if fr.err != nil {
		return nil, fr.err
	}
	for {
		if frame, ok, err := fr.cut(); err != nil {
			fr.err = err
			return nil, err
		} else if ok {
			return frame, nil
		}
		if err := fr.pending; err != nil {
			fr.pending = nil
			if !errors.Is(err, io.EOF) {
				return nil, err // a deadline, say: the next call resumes
			}
			if fr.end > fr.start {
				fr.err = fmt.Errorf("connection closed in the middle of a frame: %w", io.ErrUnexpectedEOF)
			} else {
				fr.err = io.EOF
			}
			return nil, fr.err
		}
		if fr.end == len(fr.buf) {
			fr.makeRoom()
		}
		n, err := fr.r.Read(fr.buf[fr.end:])
		fr.end += n
		fr.pending = err // looked at after the new bytes
	}
}

// cut returns the first frame if the buffer holds all of it.
func (fr *frameReader) cut() ([]byte, bool, error) {
	data := fr.buf[fr.start:fr.end]
	size, n := protowire.ConsumeVarint(data)
	switch {
	case n < 0 && len(data) < maxPrefix && errors.Is(protowire.ParseError(n), io.ErrUnexpectedEOF):
		return nil, false, nil // the rest of the size is on its way
	case n < 0 || n > maxPrefix:
		// A size needing more bytes than MaxFrameSize's is larger, or
		// padded, which the encoder never does.
		return nil, false, fmt.Errorf("%w (the size prefix is longer than %d bytes)", ErrFrameTooLarge, maxPrefix)
	}
	if size > MaxFrameSize {
		return nil, false, fmt.Errorf("%w (%d bytes announced)", ErrFrameTooLarge, size)
	}
	if len(data) < n+int(size) {
		return nil, false, nil
	}
	fr.start += n + int(size)
	return data[n : n+int(size)], true, nil
}

// makeRoom moves unread data to the front of the buffer or grows it, up
// to frameReaderMax.
func (fr *frameReader) makeRoom() {
	if fr.start > 0 {
		n := copy(fr.buf, fr.buf[fr.start:fr.end])
		fr.start, fr.end = 0, n
		if n < len(fr.buf) {
			return
		}
	}
	size := min(max(2*len(fr.buf), 4096), frameReaderMax)
	grown := make([]byte, size)
	copy(grown, fr.buf[:fr.end])
	fr.buf = grown
}

// conn is one side of a connection: a frame reader and a serialised writer.
type conn struct {
	c   net.Conn
	r   *frameReader
	wmu sync.Mutex
}

func newConn(c net.Conn) *conn { return &conn{c: c, r: newFrameReader(c)} }

// write sends an encoded frame, giving up after timeout.
func (c *conn) write(frame []byte, timeout time.Duration) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.c.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := c.c.Write(frame)
	return err
}

func (c *conn) writeFrame(f Frame, timeout time.Duration) error {
	b, err := EncodeFrame(f)
	if err != nil {
		return err
	}
	return c.write(b, timeout)
}
