package memtrim

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

func trimImage() (Stats, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return Stats{}, fmt.Errorf("memtrim: %w", err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return Stats{}, fmt.Errorf("memtrim: %w", err)
	}
	defer f.Close()
	maps, err := imageMappings(f, uint64(unix.Major(uint64(st.Dev))), uint64(unix.Minor(uint64(st.Dev))), st.Ino)
	if err != nil {
		return Stats{}, err
	}
	return dropMappings(maps)
}

// mapping is one read-only mapping of the executable.
type mapping struct {
	start, end uint64
	// private is the private copies of pages it holds (smaps'
	// "Anonymous:", in kB).
	private uint64
}

// imageMappings reads smaps and returns the mappings of the file with the
// given device and inode that are not writable: the text and read-only
// data of that file. Parsed by hand:
// the smaps format is a header line per mapping
// ("start-end perms offset major:minor inode path") followed by
// "Field: value kB" lines (proc(5)); gopsutil's parser reads every field of
// every mapping into maps of strings, which costs more than the trim.
func imageMappings(r io.Reader, major, minor, ino uint64) ([]mapping, error) {
	var out []mapping
	var cur *mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		fields := bytes.Fields(b)
		if len(fields) == 0 {
			continue
		}
		if bytes.HasSuffix(fields[0], []byte(":")) {
			if cur != nil && string(fields[0]) == "Anonymous:" && len(fields) >= 2 {
				n, err := strconv.ParseUint(string(fields[1]), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("memtrim: smaps line %d: Anonymous: %q is not a number", line, fields[1])
				}
				cur.private = n
			}
			continue
		}
		if len(fields) < 5 {
			// A header line has at least the range, permissions, offset,
			// device and inode; anything else here is a field this parser
			// does not know (VmFlags has a colon too, so it is above).
			return nil, fmt.Errorf("memtrim: smaps line %d: %q is neither a mapping nor a field", line, b)
		}
		cur = nil
		start, end, ok := parseRange(fields[0])
		if !ok {
			return nil, fmt.Errorf("memtrim: smaps line %d: bad address range %q", line, fields[0])
		}
		perms := fields[1]
		if len(perms) < 4 || perms[1] == 'w' {
			continue
		}
		maj, mnr, ok := parseDev(fields[3])
		if !ok {
			return nil, fmt.Errorf("memtrim: smaps line %d: bad device %q", line, fields[3])
		}
		in, err := strconv.ParseUint(string(fields[4]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("memtrim: smaps line %d: bad inode %q", line, fields[4])
		}
		if maj != major || mnr != minor || in != ino || in == 0 {
			continue
		}
		out = append(out, mapping{start: start, end: end})
		cur = &out[len(out)-1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("memtrim: reading smaps: %w", err)
	}
	return out, nil
}

func parseRange(b []byte) (start, end uint64, ok bool) {
	i := bytes.IndexByte(b, '-')
	if i < 0 {
		return 0, 0, false
	}
	s, err1 := strconv.ParseUint(string(b[:i]), 16, 64)
	e, err2 := strconv.ParseUint(string(b[i+1:]), 16, 64)
	return s, e, err1 == nil && err2 == nil && s < e
}

func parseDev(b []byte) (major, minor uint64, ok bool) {
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		return 0, 0, false
	}
	ma, err1 := strconv.ParseUint(string(b[:i]), 16, 32)
	mi, err2 := strconv.ParseUint(string(b[i+1:]), 16, 32)
	return ma, mi, err1 == nil && err2 == nil
}

// dropMappings drops the resident pages of each mapping that holds no
// private copy of a page.
func dropMappings(maps []mapping) (Stats, error) {
	var s Stats
	for _, m := range maps {
		if m.private != 0 {
			s.Skipped++
			continue
		}
		// The addresses are the kernel's, not Go pointers: the raw
		// system call takes them as they are.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), unix.MADV_DONTNEED); errno != 0 {
			return s, fmt.Errorf("memtrim: madvise %#x-%#x: %w", m.start, m.end, errno)
		}
		s.Mappings++
		s.Bytes += m.end - m.start
	}
	return s, nil
}
