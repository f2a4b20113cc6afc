package devices

import (
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vcguard/vcguard/agent/proctable"
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
	tab  *proctable.Table
	// acceptRegularFiles lets a regular file standing at a device path
	// count as that device. Only tests set it: production is strict.
	acceptRegularFiles bool

	dir   *os.File
	fdbuf []byte
	link  []byte
	pathb []byte
	pids  []int32
	commb []byte
}

func newFDScanner(root string) *fdScanner {
	return &fdScanner{
		root: root, tab: proctable.New(proctable.Config{ProcRoot: root}),
		fdbuf: make([]byte, 8<<10), link: make([]byte, 512),
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

// listPIDs lists the processes into s.pids, and opens the procfs root
// their fd directories are read relative to.
func (s *fdScanner) listPIDs() error {
	if s.dir == nil {
		d, err := os.Open(s.root)
		if err != nil {
			return fmt.Errorf("list processes: %w", err)
		}
		s.dir = d
	}
	var err error
	s.pids, err = s.tab.AppendPIDs(s.pids[:0])
	return err
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
		proctable.ForEachDirent(s.fdbuf[:n], func(name []byte) {
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
	exe, _ := s.tab.Exe(pid)
	s.commb, _ = s.tab.AppendComm(s.commb[:0], pid)
	commStr := string(s.commb)
	uid := -1
	if o, err := s.tab.Owner(pid); err == nil {
		uid = o.UID
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

// processOf returns the executable of pid and its real UID, read from
// /proc; ok is false when the process is gone.
func (s *fdScanner) processOf(pid int32) (exe string, uid int, ok bool) {
	o, err := s.tab.Owner(pid)
	if err != nil {
		return "", -1, false
	}
	exe, _ = s.tab.Exe(pid)
	return exe, o.UID, true
}
