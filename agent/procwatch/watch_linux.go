package procwatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// osWatcher reads /proc. The directory is listed with getdents into a
// reused buffer and each file is read with openat relative to it: the
// floor of any scan is one open, read and close per process, and the
// watcher stays close to it by reading only comm for every process and
// stat and exe only for the interesting ones.
type osWatcher struct {
	w    *Watcher
	root string

	dir    *os.File // the procfs root, reopened when it fails
	dirbuf []byte
	filbuf []byte
	pathb  []byte
	pids   []int32

	// seen holds every PID found by the last listing, with the generation
	// that saw it, so that Poll inspects only new PIDs.
	seen map[int32]uint32
	gen  uint32

	bootSec int64
}

func newOSWatcher(w *Watcher) *osWatcher {
	root := w.cfg.ProcRoot
	if root == "" {
		root = "/proc"
	}
	w.self = int32(os.Getpid())
	return &osWatcher{
		w: w, root: root, dirbuf: make([]byte, 32<<10), filbuf: make([]byte, 1024),
		seen: make(map[int32]uint32),
	}
}

// listPIDs lists the numeric entries of the procfs root into o.pids.
func (o *osWatcher) listPIDs() error {
	if o.dir == nil {
		d, err := os.Open(o.root)
		if err != nil {
			return fmt.Errorf("list processes: %w", err)
		}
		o.dir = d
	}
	fd := int(o.dir.Fd())
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		o.dir.Close()
		o.dir = nil
		return fmt.Errorf("list processes: rewind %s: %w", o.root, err)
	}
	o.pids = o.pids[:0]
	for {
		n, err := unix.Getdents(fd, o.dirbuf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			o.dir.Close()
			o.dir = nil
			return fmt.Errorf("list processes: read %s: %w", o.root, err)
		}
		if n <= 0 {
			return nil
		}
		o.pids = appendDirentPIDs(o.pids, o.dirbuf[:n])
	}
}

// appendDirentPIDs decodes linux_dirent64 records (d_ino u64, d_off s64,
// d_reclen u16, d_type u8, d_name NUL-terminated) without allocating;
// x/sys's ParseDirent would allocate a string per entry.
func appendDirentPIDs(pids []int32, buf []byte) []int32 {
	const nameOff = 19
	for len(buf) >= nameOff {
		reclen := int(*(*uint16)(unsafe.Pointer(&buf[16])))
		if reclen < nameOff || reclen > len(buf) {
			return pids
		}
		name := buf[nameOff:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		if pid, ok := parsePIDName(name); ok {
			pids = append(pids, pid)
		}
		buf = buf[reclen:]
	}
	return pids
}

// readFile reads root/pid/name into o.filbuf.
func (o *osWatcher) readFile(pid int32, name string) ([]byte, error) {
	o.pathb = strconv.AppendInt(o.pathb[:0], int64(pid), 10)
	o.pathb = append(o.pathb, '/')
	o.pathb = append(o.pathb, name...)
	fd, err := unix.Openat(int(o.dir.Fd()), string(o.pathb), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n := 0
	for {
		m, err := unix.Read(fd, o.filbuf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return o.filbuf[:n], nil
		}
		n += m
		if n == len(o.filbuf) {
			o.filbuf = append(o.filbuf, make([]byte, len(o.filbuf))...)
		}
	}
}

// comm reads the short name of pid.
func (o *osWatcher) comm(pid int32) ([]byte, error) {
	b, err := o.readFile(pid, "comm")
	if err != nil {
		return nil, err
	}
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	return b, nil
}

// interesting reads pid's short name and tells whether the filter wants it.
func (o *osWatcher) interesting(pid int32) bool {
	if pid == o.w.self {
		return false
	}
	c, err := o.comm(pid)
	if err != nil {
		return false // exited
	}
	return o.w.cfg.Filter(unsafe.String(unsafe.SliceData(c), len(c)))
}

// inspect reads what the watcher reports about an interesting process.
// It fails for a process that has exited, also one not reaped yet.
func (o *osWatcher) inspect(pid int32) (Process, error) {
	b, err := o.readFile(pid, "stat")
	if err != nil {
		return Process{}, err
	}
	st, err := ParseStat(b)
	if err != nil {
		return Process{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	if st.State == 'Z' || st.State == 'X' {
		return Process{}, errors.New("exited")
	}
	boot, err := o.bootTime()
	if err != nil {
		return Process{}, err
	}
	p := Process{
		PID: pid, PPID: st.PPID, ShortName: st.Comm, Name: st.Comm,
		Started: LinuxStartTime(boot, st.StartTicks),
	}
	o.pathb = strconv.AppendInt(o.pathb[:0], int64(pid), 10)
	o.pathb = append(o.pathb, "/exe"...)
	if exe, err := readlinkat(int(o.dir.Fd()), string(o.pathb)); err == nil && exe != "" {
		p.Exe = exe
		p.Name = baseName(exe)
	}
	return p, nil
}

func readlinkat(dirfd int, path string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(dirfd, path, buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

func (o *osWatcher) bootTime() (int64, error) {
	if o.bootSec != 0 {
		return o.bootSec, nil
	}
	b, err := os.ReadFile(filepath.Join(o.root, "stat"))
	if err != nil {
		return 0, fmt.Errorf("boot time: %w", err)
	}
	if o.bootSec, err = ParseBootTime(b); err != nil {
		return 0, err
	}
	return o.bootSec, nil
}

// fullScan reads the short name of every process and inspects the
// interesting ones.
func (o *osWatcher) fullScan(ctx context.Context) (map[int32]Process, error) {
	if err := o.listPIDs(); err != nil {
		return nil, err
	}
	o.gen++
	found := make(map[int32]Process, len(o.w.tracked)+4)
	for i, pid := range o.pids {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		o.seen[pid] = o.gen
		if !o.interesting(pid) {
			continue
		}
		if p, err := o.inspect(pid); err == nil {
			found[pid] = p
		}
	}
	o.forgetUnseen()
	return found, nil
}

// forgetUnseen drops the PIDs the last listing did not find.
func (o *osWatcher) forgetUnseen() {
	for pid, g := range o.seen {
		if g != o.gen {
			delete(o.seen, pid)
		}
	}
}

// poll lists the PIDs and inspects only the new ones; the known
// interesting processes are checked to still be the same process.
func (o *osWatcher) poll(ctx context.Context) (Changes, error) {
	if err := o.listPIDs(); err != nil {
		return Changes{}, err
	}
	o.gen++
	var ch Changes
	for _, pid := range o.pids {
		_, known := o.seen[pid]
		o.seen[pid] = o.gen
		if known {
			continue
		}
		if o.interesting(pid) {
			if p, err := o.inspect(pid); err == nil {
				o.w.started(&ch, p)
			}
		}
	}
	o.forgetUnseen()
	for pid, old := range o.w.tracked {
		if _, ok := o.seen[pid]; !ok {
			o.w.exited(&ch, pid)
			continue
		}
		// Still listed: the same process, or (rarely) a reused PID.
		if p, err := o.inspect(pid); err != nil {
			o.w.exited(&ch, pid)
		} else if p.Key() != old.Key() {
			o.w.exited(&ch, pid)
			if o.interesting(pid) {
				o.w.started(&ch, p)
			}
		}
	}
	ch.finish()
	return ch, nil
}

// onExec handles a proc connector exec event: pid runs a new image.
func (o *osWatcher) onExec(ch *Changes, pid int32) {
	o.seen[pid] = o.gen
	if !o.interesting(pid) {
		o.w.exited(ch, pid) // an app that exec'd something else
		return
	}
	p, err := o.inspect(pid)
	if err != nil {
		o.w.exited(ch, pid)
		return
	}
	o.w.started(ch, p)
}

func (o *osWatcher) run(ctx context.Context, emit func(Changes)) error {
	defer func() {
		if o.dir != nil {
			o.dir.Close()
			o.dir = nil
		}
	}()
	log := o.w.cfg.Logger
	var conn *connector
	if !o.w.cfg.NoEvents && o.w.cfg.ProcRoot == "" {
		// Subscribe before the first scan, so no start falls between.
		c, err := openConnector()
		if err != nil {
			log.Info("process events unavailable; polling", "interval", o.w.cfg.PollInterval, "reason", err)
		} else {
			conn = c
			defer conn.Close()
		}
	}
	ch, err := o.w.Scan(ctx)
	if err != nil {
		return err
	}
	emit(ch)
	if conn == nil {
		return o.pollLoop(ctx, emit)
	}
	log.Info("following process events", "mode", ModeEvents, "rescan", o.w.cfg.RescanInterval)

	type batch struct {
		evs []procEvent
		err error
	}
	batches := make(chan batch, 16)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]procEvent, 0, 64)
		for {
			evs, err := conn.read(buf)
			b := batch{evs: append([]procEvent(nil), evs...), err: err}
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
			if err != nil && !errors.Is(err, errOverrun) {
				return
			}
		}
	}()
	defer func() { conn.Close(); <-readerDone }()

	rescan := time.NewTicker(o.w.cfg.RescanInterval)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rescan.C:
			if err := o.rescan(ctx, emit); err != nil {
				return err
			}
		case b := <-batches:
			var ch Changes
			for _, ev := range b.evs {
				switch ev.Kind {
				case procExec:
					o.onExec(&ch, ev.PID)
				case procExit:
					o.w.exited(&ch, ev.PID)
				}
			}
			ch.finish()
			if !ch.Empty() {
				emit(ch)
			}
			switch {
			case b.err == nil:
			case errors.Is(b.err, errOverrun):
				log.Warn("the kernel dropped process events; rescanning")
				if err := o.rescan(ctx, emit); err != nil {
					return err
				}
			default:
				if ctx.Err() != nil {
					return nil
				}
				log.Warn("process events failed; polling", "err", b.err)
				return o.pollLoop(ctx, emit)
			}
		}
	}
}

// rescan runs a full scan; a failure (a process table that cannot be
// read once) is logged and the next rescan tries again, as the poll loop
// does.
func (o *osWatcher) rescan(ctx context.Context, emit func(Changes)) error {
	ch, err := o.w.Scan(ctx)
	if err != nil {
		if ctx.Err() == nil {
			o.w.cfg.Logger.Warn("process rescan failed", "err", err)
		}
		return nil
	}
	if !ch.Empty() {
		emit(ch)
	}
	return nil
}

func (o *osWatcher) pollLoop(ctx context.Context, emit func(Changes)) error {
	return pollLoop(ctx, o.w, emit)
}

// Parent returns the PID of pid's parent, read from /proc.
func Parent(pid int32) (int32, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
	if err != nil {
		return 0, err
	}
	st, err := ParseStat(b)
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w", pid, err)
	}
	return st.PPID, nil
}
