package macpkg

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// The Payload and Scripts of a macOS package are cpio archives in the
// "odc" (POSIX.1 portable, magic 070707) format, gzip-compressed. This is
// written here by hand: github.com/cavaliergopher/cpio writes only the
// SVR4 "newc" format and u-root's pkg/cpio likewise writes newc, which
// macOS Installer does not read for a Payload; neither is among the modules
// available to this project. The format is one fixed 76-byte octal header
// per entry, the NUL-terminated name, then the data, with no padding.

// cpioEntry is one file or directory of a cpio archive.
type cpioEntry struct {
	Name     string // "." or "./path/inside"
	Mode     uint32 // type and permission bits (S_IFDIR|0755, S_IFREG|0644, ...)
	UID, GID uint32
	MTime    int64
	Data     []byte // regular files only
}

const (
	cpioMagic      = "070707"
	cpioHeaderSize = 76
	cpioTrailer    = "TRAILER!!!"
	modeTypeMask   = 0o170000
	modeDir        = 0o040000
	modeRegular    = 0o100000
)

// writeCPIO writes entries and the trailer to w in odc format.
func writeCPIO(w io.Writer, entries []cpioEntry) error {
	var buf bytes.Buffer
	for i, e := range entries {
		t := e.Mode & modeTypeMask
		if t != modeDir && t != modeRegular {
			return fmt.Errorf("cpio entry %s: mode %o is neither a directory nor a regular file", e.Name, e.Mode)
		}
		if t == modeDir && len(e.Data) != 0 {
			return fmt.Errorf("cpio entry %s: a directory with data", e.Name)
		}
		nlink := 1
		if t == modeDir {
			nlink = 2
		}
		if err := writeCPIOHeader(&buf, e.Name, i+1, e.Mode, e.UID, e.GID, nlink, e.MTime, int64(len(e.Data))); err != nil {
			return err
		}
		buf.Write(e.Data)
	}
	if err := writeCPIOHeader(&buf, cpioTrailer, 0, 0, 0, 0, 1, 0, 0); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func writeCPIOHeader(buf *bytes.Buffer, name string, ino int, mode, uid, gid uint32, nlink int, mtime, size int64) error {
	fields := []struct {
		v     int64
		width int
		what  string
	}{
		{0, 6, "dev"},
		{int64(ino), 6, "inode"},
		{int64(mode), 6, "mode"},
		{int64(uid), 6, "uid"},
		{int64(gid), 6, "gid"},
		{int64(nlink), 6, "nlink"},
		{0, 6, "rdev"},
		{mtime, 11, "mtime"},
		{int64(len(name) + 1), 6, "name size"},
		{size, 11, "file size"},
	}
	buf.WriteString(cpioMagic)
	for _, f := range fields {
		s := strconv.FormatInt(f.v, 8)
		if f.v < 0 || len(s) > f.width {
			return fmt.Errorf("cpio entry %s: %s %d does not fit the odc header", name, f.what, f.v)
		}
		for range f.width - len(s) {
			buf.WriteByte('0')
		}
		buf.WriteString(s)
	}
	buf.WriteString(name)
	buf.WriteByte(0)
	return nil
}

// Limits of readCPIO: archives from elsewhere are untrusted.
const (
	maxCPIOEntries = 100000
	maxCPIOName    = 4096
)

// readCPIO parses an odc cpio archive up to its trailer. Entries with
// data point into b.
func readCPIO(b []byte) ([]cpioEntry, error) {
	var entries []cpioEntry
	off := 0
	for {
		if len(entries) >= maxCPIOEntries {
			return nil, fmt.Errorf("cpio: more than %d entries", maxCPIOEntries)
		}
		if len(b)-off < cpioHeaderSize {
			return nil, fmt.Errorf("cpio: truncated header at offset %d", off)
		}
		h := b[off : off+cpioHeaderSize]
		if string(h[:6]) != cpioMagic {
			return nil, fmt.Errorf("cpio: bad magic %q at offset %d (want odc %s)", h[:6], off, cpioMagic)
		}
		var vals [10]int64
		pos := 6
		for i, width := range []int{6, 6, 6, 6, 6, 6, 6, 11, 6, 11} {
			v, err := strconv.ParseInt(string(h[pos:pos+width]), 8, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("cpio: bad octal field %q at offset %d", h[pos:pos+width], off+pos)
			}
			vals[i] = v
			pos += width
		}
		mode, uid, gid, mtime, namesize, filesize := vals[2], vals[3], vals[4], vals[7], vals[8], vals[9]
		off += cpioHeaderSize
		if namesize < 1 || namesize > maxCPIOName || int64(len(b)-off) < namesize {
			return nil, fmt.Errorf("cpio: bad name size %d at offset %d", namesize, off)
		}
		name := b[off : off+int(namesize)]
		if name[len(name)-1] != 0 || bytes.IndexByte(name[:len(name)-1], 0) >= 0 {
			return nil, fmt.Errorf("cpio: name at offset %d is not one NUL-terminated string", off)
		}
		off += int(namesize)
		if filesize > int64(len(b)-off) {
			return nil, fmt.Errorf("cpio: entry %q: %d bytes of data, %d left", name[:len(name)-1], filesize, len(b)-off)
		}
		data := b[off : off+int(filesize)]
		off += int(filesize)
		e := cpioEntry{
			Name:  string(name[:len(name)-1]),
			Mode:  uint32(mode),
			UID:   uint32(uid),
			GID:   uint32(gid),
			MTime: mtime,
			Data:  data,
		}
		if e.Name == cpioTrailer {
			return entries, nil
		}
		entries = append(entries, e)
	}
}
