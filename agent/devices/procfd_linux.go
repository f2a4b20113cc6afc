package devices

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdHold is a capture device node held open by a process.
type fdHold struct {
	Use
	comm string // short name, for recognising sound servers
}

// fdScanner finds the processes holding capture device nodes by reading
// /proc/PID/fd. The floor of any such scan is listing every process's fd
// directory and reading every link; the scanner does that with getdents
// into reused buffers and readlinkat relative to the directory, and does
// more (a stat of the link, the process's exe and status) only for links
// whose target names a video or ALSA PCM node.
type fdScanner struct {
	root string
	// acceptRegularFiles lets a regular file standing at a device path
	// count as that device. Only tests set it: production is strict.
	acceptRegularFiles bool

	dir    *os.File
	dirbuf []byte
	fdbuf  []byte
	link   []byte
	filbuf []byte
	pathb  []byte
	pids   []int32
}

func newFDScanner(root string) *fdScanner {
	return &fdScanner{
		root: root, dirbuf: make([]byte, 32<<10), fdbuf: make([]byte, 8<<10),
		link: make([]byte, 512), filbuf: make([]byte, 2048),
	}
}

func (s *fdScanner) close() {
	if s.dir != nil {
		s.dir.Close()
		s.dir = nil
	}
}

// scan lists the capture devices held open by any process.
func (s *fdScanner) scan(ctx context.Context) ([]fdHold, error) {
	if err := s.listPIDs(); err != nil {
		return nil, err
	}
	var holds []fdHold
	for i, pid := range s.pids {
		if i%128 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		holds = s.scanPID(pid, holds)
	}
	return holds, nil
}

// listPIDs lists the numeric entries of the procfs root into s.pids.
func (s *fdScanner) listPIDs() error {
	if s.dir == nil {
		d, err := os.Open(s.root)
		if err != nil {
			return fmt.Errorf("list processes: %w", err)
		}
		s.dir = d
	}
	fd := int(s.dir.Fd())
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		s.close()
		return fmt.Errorf("list processes: rewind %s: %w", s.root, err)
	}
	s.pids = s.pids[:0]
	for {
		n, err := unix.Getdents(fd, s.dirbuf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			s.close()
			return fmt.Errorf("list processes: read %s: %w", s.root, err)
		}
		if n <= 0 {
			return nil
		}
		forEachDirent(s.dirbuf[:n], func(name []byte) {
			if pid, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(name), len(name)), 10, 32); err == nil && pid > 0 && name[0] != '+' {
				s.pids = append(s.pids, int32(pid))
			}
		})
	}
}

// scanPID appends the capture devices pid holds to holds. A process that
// exits meanwhile, or whose fds this process may not read, holds none.
func (s *fdScanner) scanPID(pid int32, holds []fdHold) []fdHold {
	s.pathb = strconv.AppendInt(s.pathb[:0], int64(pid), 10)
	s.pathb = append(s.pathb, "/fd"...)
	dfd, err := unix.Openat(int(s.dir.Fd()), string(s.pathb), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return holds
	}
	defer unix.Close(dfd)
	found := len(holds)
	for {
		n, err := unix.Getdents(dfd, s.fdbuf)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			break
		}
		forEachDirent(s.fdbuf[:n], func(name []byte) {
			if name[0] < '0' || name[0] > '9' {
				return // . and ..
			}
			fdName := unsafe.String(unsafe.SliceData(name), len(name))
			m, err := unix.Readlinkat(dfd, fdName, s.link)
			if err != nil || !isDevCandidate(s.link[:m]) {
				return
			}
			target := string(s.link[:m])
			// Stat through the fd's magic link, so that the node is the
			// one the process holds, whatever its mount namespace.
			var st unix.Stat_t
			if err := unix.Fstatat(dfd, fdName, &st, 0); err != nil {
				return
			}
			kind, src, ok := s.classify(target, &st)
			if !ok {
				return
			}
			for _, h := range holds[found:] {
				if h.Device == target {
					return
				}
			}
			holds = append(holds, fdHold{Use: Use{Kind: kind, Device: target, PID: pid, UID: -1, Source: src}})
		})
	}
	if len(holds) > found {
		s.describe(pid, holds[found:])
	}
	return holds
}

// classify tells what the node held open at target is; see classifyNode.
func (s *fdScanner) classify(target string, st *unix.Stat_t) (Kind, Source, bool) {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		return classifyNode(target, true, unix.Major(st.Rdev))
	case unix.S_IFREG:
		if s.acceptRegularFiles {
			return classifyNode(target, true, nodeMajor(target))
		}
	}
	return "", "", false
}

// describe fills in the process and user of pid's holds.
func (s *fdScanner) describe(pid int32, holds []fdHold) {
	exe := s.readlink(pid, "exe")
	comm := s.readFile(pid, "comm")
	if n := len(comm); n > 0 && comm[n-1] == '\n' {
		comm = comm[:n-1]
	}
	commStr := string(comm)
	uid := -1
	if u, ok := parseStatusUID(s.readFile(pid, "status")); ok {
		uid = u
	}
	proc := exe
	if proc == "" {
		proc = commStr
	}
	for i := range holds {
		holds[i].Process = proc
		holds[i].UID = uid
		if uid >= 0 {
			holds[i].Session = strconv.Itoa(uid)
		}
		holds[i].comm = commStr
	}
}

// exeBase is the base name of a hold's executable.
func (h fdHold) exeBase() string {
	if h.Process == "" || h.Process[0] != '/' {
		return ""
	}
	return path.Base(h.Process)
}

// readlink reads root/pid/name, "" when it cannot.
func (s *fdScanner) readlink(pid int32, name string) string {
	s.pathb = strconv.AppendInt(s.pathb[:0], int64(pid), 10)
	s.pathb = append(s.pathb, '/')
	s.pathb = append(s.pathb, name...)
	buf := s.link
	for {
		n, err := unix.Readlinkat(int(s.dir.Fd()), string(s.pathb), buf)
		if err != nil {
			return ""
		}
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// readFile reads root/pid/name into s.filbuf; nil when it cannot.
func (s *fdScanner) readFile(pid int32, name string) []byte {
	s.pathb = strconv.AppendInt(s.pathb[:0], int64(pid), 10)
	s.pathb = append(s.pathb, '/')
	s.pathb = append(s.pathb, name...)
	fd, err := unix.Openat(int(s.dir.Fd()), string(s.pathb), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	n := 0
	for {
		m, err := unix.Read(fd, s.filbuf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil
		}
		if m == 0 {
			return s.filbuf[:n]
		}
		n += m
		if n == len(s.filbuf) {
			s.filbuf = append(s.filbuf, make([]byte, len(s.filbuf))...)
		}
	}
}

// processOf returns the executable of pid and its real UID, read from
// /proc; ok is false when the process is gone.
func (s *fdScanner) processOf(pid int32) (exe string, uid int, ok bool) {
	if s.dir == nil {
		d, err := os.Open(s.root)
		if err != nil {
			return "", -1, false
		}
		s.dir = d
	}
	uid, ok = parseStatusUID(s.readFile(pid, "status"))
	if !ok {
		return "", -1, false
	}
	return s.readlink(pid, "exe"), uid, true
}

// forEachDirent calls fn with the name of each linux_dirent64 record in
// buf (d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name
// NUL-terminated), without allocating; the name is only valid during
// the call.
func forEachDirent(buf []byte, fn func(name []byte)) {
	const nameOff = 19
	for len(buf) >= nameOff {
		reclen := int(*(*uint16)(unsafe.Pointer(&buf[16])))
		if reclen < nameOff || reclen > len(buf) {
			return
		}
		name := buf[nameOff:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if len(name) > 0 {
			fn(name)
		}
		buf = buf[reclen:]
	}
}
