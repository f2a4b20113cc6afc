package procwatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// The exec filter moves the watcher's name test into the kernel. Two small
// eBPF programs run on the scheduler's raw tracepoints:
//
//   - on sched_process_exec, the process's new short name (comm, which exec
//     has just set) is looked up in the names map, the catalog's short names;
//     a match adds the process to the tracked map and reports it, and a
//     tracked process that exec'd a name not in the map is taken out of it
//     and reported too (an app that became something else);
//   - on sched_process_exit, the exit of a tracked thread-group leader is
//     reported and the process taken out of the tracked map.
//
// Reports go to user space through a ring buffer, so the agent wakes only
// for the processes it cares about: with the proc connector it woke for
// every exec and exit on the machine and read each new process's comm,
// about 75 µs of its own CPU per exec (recvmsg, the scheduler's wake-up,
// openat/read/close), which is what kept the idle agent above 0.1 % of a
// core under a load of short processes. The filter costs a map lookup in
// the exec'ing process's own context.
//
// The programs are a few instructions written with cilium/ebpf's asm
// package rather than compiled from C: that keeps the build free of clang
// and of a committed object file, and the verifier checks them at load.
// They use only helpers open to programs of any licence (current comm and
// pid/tgid, map lookup/update/delete, ring buffer output). Loading needs
// CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) and Linux 5.8 (ring buffers);
// without them the watcher falls back to the proc connector.

const (
	// execFilterMaxNames bounds the names map; the catalog has about a
	// hundred Linux short names.
	execFilterMaxNames = 4096
	// execFilterMaxTracked bounds the tracked map. It is an LRU map, so a
	// fleet of more tracked processes than this evicts the oldest entry
	// (whose exit then waits for the next rescan) rather than failing.
	execFilterMaxTracked = 8192
	// execFilterRingBytes is the ring buffer's size: 24 bytes per report
	// (8 of header), room for 2,730 reports between two reads.
	execFilterRingBytes = 64 << 10

	execReport = 1
	exitReport = 2
)

// execFilter is an event source fed by the kernel's exec filter.
type execFilter struct {
	names, tracked, lost, ring *ebpf.Map
	execProg, exitProg         *ebpf.Program
	execLink, exitLink         link.Link
	rd                         *ringbuf.Reader
	// ready is a non-blocking duplicate of the ring buffer's descriptor in
	// Go's network poller, and readyConn its raw connection: read waits on
	// it for reports (see read).
	ready     *os.File
	readyConn syscall.RawConn

	mu       sync.Mutex // read
	rec      ringbuf.Record
	lastLost uint64
	closed   atomic.Bool

	namesMu sync.Mutex // setNames
	current map[[16]byte]bool
}

// openExecFilter loads the maps and programs, fills the names map and
// attaches the programs. names are the exact short names the watcher's
// filter accepts; ringBytes is the ring buffer's size (a power of two, at
// least a page), execFilterRingBytes but in tests.
func openExecFilter(names []string, ringBytes uint32) (_ *execFilter, err error) {
	f := &execFilter{current: make(map[[16]byte]bool)}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	if f.names, err = ebpf.NewMap(&ebpf.MapSpec{Name: "vcg_names", Type: ebpf.Hash, KeySize: 16, ValueSize: 1, MaxEntries: execFilterMaxNames}); err != nil {
		return nil, fmt.Errorf("exec filter: create the names map: %w", err)
	}
	if f.tracked, err = ebpf.NewMap(&ebpf.MapSpec{Name: "vcg_tracked", Type: ebpf.LRUHash, KeySize: 4, ValueSize: 1, MaxEntries: execFilterMaxTracked}); err != nil {
		return nil, fmt.Errorf("exec filter: create the tracked map: %w", err)
	}
	if f.lost, err = ebpf.NewMap(&ebpf.MapSpec{Name: "vcg_lost", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}); err != nil {
		return nil, fmt.Errorf("exec filter: create the lost counter: %w", err)
	}
	if f.ring, err = ebpf.NewMap(&ebpf.MapSpec{Name: "vcg_reports", Type: ebpf.RingBuf, MaxEntries: ringBytes}); err != nil {
		return nil, fmt.Errorf("exec filter: create the ring buffer: %w", err)
	}
	if err = f.setNames(names); err != nil {
		return nil, err
	}
	fds := execFilterFDs{names: f.names.FD(), tracked: f.tracked.FD(), lost: f.lost.FD(), ring: f.ring.FD()}
	if f.execProg, err = loadFilterProgram("vcg_exec", execProgram(fds)); err != nil {
		return nil, err
	}
	if f.exitProg, err = loadFilterProgram("vcg_exit", exitProgram(fds)); err != nil {
		return nil, err
	}
	if f.rd, err = ringbuf.NewReader(f.ring); err != nil {
		return nil, fmt.Errorf("exec filter: read the ring buffer: %w", err)
	}
	// The reader only drains what is there: a deadline in the past makes
	// it return os.ErrDeadlineExceeded once the ring is empty instead of
	// blocking in its own epoll_wait.
	f.rd.SetDeadline(time.Unix(1, 0))
	if err = f.openReady(); err != nil {
		return nil, err
	}
	// Exits first: a process whose exec was reported always has its exit
	// reported too.
	if f.exitLink, err = link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_exit", Program: f.exitProg}); err != nil {
		return nil, fmt.Errorf("exec filter: attach to sched_process_exit: %w", err)
	}
	if f.execLink, err = link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_exec", Program: f.execProg}); err != nil {
		return nil, fmt.Errorf("exec filter: attach to sched_process_exec: %w", err)
	}
	return f, nil
}

func loadFilterProgram(name string, insns asm.Instructions) (*ebpf.Program, error) {
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: name, Type: ebpf.RawTracepoint, Instructions: insns, License: "Dual MIT/GPL"})
	if err != nil {
		return nil, fmt.Errorf("exec filter: load program %s: %w", name, err)
	}
	return p, nil
}

// commKey is name as the kernel's comm holds it: at most 15 bytes and a
// NUL, zero-padded (bpf_get_current_comm pads with zeros). ok is false for
// a name that cannot be a comm.
func commKey(name string) (k [16]byte, ok bool) {
	if name == "" || len(name) > CommLen {
		return k, false
	}
	copy(k[:], name)
	return k, true
}

// setNames makes the names map hold exactly names (those that can be a
// comm).
func (f *execFilter) setNames(names []string) error {
	f.namesMu.Lock()
	defer f.namesMu.Unlock()
	want := make(map[[16]byte]bool, len(names))
	for _, n := range names {
		if k, ok := commKey(n); ok {
			want[k] = true
		}
	}
	if len(want) > execFilterMaxNames {
		return fmt.Errorf("exec filter: %d names, at most %d fit", len(want), execFilterMaxNames)
	}
	one := []byte{1}
	for k := range want {
		if f.current[k] {
			continue
		}
		if err := f.names.Put(k[:], one); err != nil {
			return fmt.Errorf("exec filter: add name %q: %w", commName(k), err)
		}
		f.current[k] = true
	}
	for k := range f.current {
		if want[k] {
			continue
		}
		if err := f.names.Delete(k[:]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("exec filter: remove name %q: %w", commName(k), err)
		}
		delete(f.current, k)
	}
	return nil
}

func commName(k [16]byte) string {
	n := 0
	for n < len(k) && k[n] != 0 {
		n++
	}
	return string(k[:n])
}

// track adds the processes a scan found to the tracked map, so their exits
// are reported (the kernel adds only the processes whose exec it saw).
func (f *execFilter) track(pids []int32) error {
	one := []byte{1}
	var key [4]byte
	for _, pid := range pids {
		binary.NativeEndian.PutUint32(key[:], uint32(pid))
		if err := f.tracked.Put(key[:], one); err != nil {
			return fmt.Errorf("exec filter: track process %d: %w", pid, err)
		}
	}
	return nil
}

// read blocks until at least one report arrives and returns the reports
// in buf[:0]. When the kernel could not write a report (a full ring
// buffer) it returns errOverrun once, after the reports read, as the
// connector does. After Close it returns an error wrapping net.ErrClosed.
// openReady puts a duplicate of the ring buffer's descriptor, made
// non-blocking, into Go's network poller (a ring buffer map is pollable:
// readable while it holds reports).
//
// Why not the reader's own blocking wait: a goroutine blocked in
// epoll_wait keeps its thread and P in a system call, so the goroutine it
// hands a report to (the agent's loop, made runnable on that P) runs only
// once another thread is woken to steal it, a second wake-up per exec
// that under a load of short processes waited behind them for the CPU. A
// goroutine parked in the network poller frees its P: the thread that the
// poller wakes runs the reader and then, on the same P, the goroutine it
// handed the report to.
func (f *execFilter) openReady() error {
	fd, err := unix.FcntlInt(uintptr(f.ring.FD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("exec filter: duplicate the ring buffer's descriptor: %w", err)
	}
	// O_NONBLOCK is the open file's, so the ring's own descriptor gets it
	// too; no bpf(2) command and no mmap looks at it.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return fmt.Errorf("exec filter: ring buffer descriptor: %w", err)
	}
	f.ready = os.NewFile(uintptr(fd), "exec filter ring buffer")
	if f.readyConn, err = f.ready.SyscallConn(); err != nil {
		return fmt.Errorf("exec filter: ring buffer descriptor: %w", err)
	}
	return nil
}

func (f *execFilter) read(buf []procEvent) ([]procEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	buf = buf[:0]
	var drainErr error
	// Read calls the function at once and, while it returns false (the
	// ring was empty), parks until the poller finds the ring readable. The
	// poller is edge-triggered: each call drains all it can.
	waitErr := f.readyConn.Read(func(uintptr) bool {
		buf, drainErr = f.drain(buf)
		return len(buf) > 0 || drainErr != nil
	})
	if drainErr == nil {
		drainErr = waitErr
	}
	if drainErr != nil {
		if errors.Is(drainErr, ringbuf.ErrClosed) || errors.Is(drainErr, os.ErrClosed) || f.closed.Load() {
			return buf[:0], fmt.Errorf("read exec filter: %w", net.ErrClosed)
		}
		return buf[:0], fmt.Errorf("read exec filter: %w", drainErr)
	}
	var lost uint64
	if err := f.lost.Lookup(uint32(0), &lost); err != nil {
		return buf, fmt.Errorf("read exec filter's lost counter: %w", err)
	}
	if lost != f.lastLost {
		f.lastLost = lost
		return buf, errOverrun
	}
	return buf, nil
}

// parseFilterReport decodes one report: the kind and the tgid, two host
// order uint32s, and the kernel's monotonic time, a uint64.
func parseFilterReport(b []byte) (procEvent, bool) {
	if len(b) < 16 {
		return procEvent{}, false
	}
	pid := int32(binary.NativeEndian.Uint32(b[4:8]))
	at := binary.NativeEndian.Uint64(b[8:16])
	switch binary.NativeEndian.Uint32(b[0:4]) {
	case execReport:
		return procEvent{Kind: procExec, PID: pid, At: at}, true
	case exitReport:
		return procEvent{Kind: procExit, PID: pid, At: at}, true
	}
	return procEvent{}, false
}

// Close detaches the programs and frees the maps, unblocking a read in
// progress. Calling it again does nothing.
// drain appends the reports waiting in the ring buffer to buf, up to its
// capacity, without blocking.
func (f *execFilter) drain(buf []procEvent) ([]procEvent, error) {
	for len(buf) < cap(buf) {
		err := f.rd.ReadInto(&f.rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if ev, ok := parseFilterReport(f.rec.RawSample); ok {
			buf = append(buf, ev)
		}
	}
	return buf, nil
}

func (f *execFilter) Close() error {
	if !f.closed.CompareAndSwap(false, true) {
		return nil
	}
	var errs []error
	for _, l := range []link.Link{f.execLink, f.exitLink} {
		if l != nil {
			errs = append(errs, l.Close())
		}
	}
	// The poller's descriptor first: that wakes a read parked on it.
	if f.ready != nil {
		errs = append(errs, f.ready.Close())
	}
	if f.rd != nil {
		errs = append(errs, f.rd.Close())
	}
	for _, p := range []*ebpf.Program{f.execProg, f.exitProg} {
		if p != nil {
			errs = append(errs, p.Close())
		}
	}
	for _, m := range []*ebpf.Map{f.names, f.tracked, f.lost, f.ring} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close exec filter: %w", err)
	}
	return nil
}

// execFilterFDs are the maps the programs refer to.
type execFilterFDs struct{ names, tracked, lost, ring int }

// The programs' stack (R10 is the frame pointer).
const (
	stComm   = -16 // [16]byte: the current comm
	stTgid   = -20 // uint32: the current tgid, the tracked map's key
	stOne    = -24 // uint8: the maps' value
	stReport = -40 // {kind, tgid uint32; at uint64}: the report
	stZero   = -44 // uint32 0: the lost counter's key
)

// execProgram runs on sched_process_exec, in the context of the process
// that has just exec'd.
func execProgram(fd execFilterFDs) asm.Instructions {
	insns := asm.Instructions{
		// comm = bpf_get_current_comm()
		asm.Mov.Reg(asm.R1, asm.RFP),
		asm.Add.Imm(asm.R1, stComm),
		asm.Mov.Imm(asm.R2, 16),
		asm.FnGetCurrentComm.Call(),
		// tgid = bpf_get_current_pid_tgid() >> 32
		asm.FnGetCurrentPidTgid.Call(),
		asm.RSh.Imm(asm.R0, 32),
		asm.StoreMem(asm.RFP, stTgid, asm.R0, asm.Word),
		// if names[comm] goto match
		asm.LoadMapPtr(asm.R1, fd.names),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, stComm),
		asm.FnMapLookupElem.Call(),
		asm.JNE.Imm(asm.R0, 0, "match"),
		// not a name: if !tracked[tgid] return
		asm.LoadMapPtr(asm.R1, fd.tracked),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, stTgid),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		// a tracked process became something else: untrack, report
		asm.LoadMapPtr(asm.R1, fd.tracked),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, stTgid),
		asm.FnMapDeleteElem.Call(),
		asm.Ja.Label("report"),
		// match: tracked[tgid] = 1
		asm.StoreImm(asm.RFP, stOne, 1, asm.Byte).WithSymbol("match"),
		asm.LoadMapPtr(asm.R1, fd.tracked),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, stTgid),
		asm.Mov.Reg(asm.R3, asm.RFP),
		asm.Add.Imm(asm.R3, stOne),
		asm.Mov.Imm(asm.R4, 0), // BPF_ANY
		asm.FnMapUpdateElem.Call(),
	}
	return append(insns, reportTail(fd, execReport)...)
}

// exitProgram runs on sched_process_exit, in the context of the exiting
// thread.
func exitProgram(fd execFilterFDs) asm.Instructions {
	insns := asm.Instructions{
		// pid_tgid = bpf_get_current_pid_tgid(); only the group leader
		asm.FnGetCurrentPidTgid.Call(),
		asm.Mov.Reg(asm.R1, asm.R0),
		asm.LSh.Imm(asm.R1, 32),
		asm.RSh.Imm(asm.R1, 32),
		asm.RSh.Imm(asm.R0, 32),
		asm.JNE.Reg(asm.R0, asm.R1, "out"),
		asm.StoreMem(asm.RFP, stTgid, asm.R0, asm.Word),
		// if !tracked[tgid] return
		asm.LoadMapPtr(asm.R1, fd.tracked),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, stTgid),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.LoadMapPtr(asm.R1, fd.tracked),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, stTgid),
		asm.FnMapDeleteElem.Call(),
	}
	return append(insns, reportTail(fd, exitReport)...)
}

// reportTail writes {kind, tgid, at} to the ring buffer (at: the kernel's
// monotonic clock, bpf_ktime_get_ns, so that the agent can tell how long
// a report took to reach it), counts a report the buffer had no room for,
// and returns 0. It defines the labels "report" and "out".
func reportTail(fd execFilterFDs, kind int64) asm.Instructions {
	return asm.Instructions{
		asm.FnKtimeGetNs.Call().WithSymbol("report"),
		asm.StoreMem(asm.RFP, stReport+8, asm.R0, asm.DWord),
		asm.StoreImm(asm.RFP, stReport, kind, asm.Word),
		asm.LoadMem(asm.R1, asm.RFP, stTgid, asm.Word),
		asm.StoreMem(asm.RFP, stReport+4, asm.R1, asm.Word),
		asm.LoadMapPtr(asm.R1, fd.ring),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, stReport),
		asm.Mov.Imm(asm.R3, 16),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnRingbufOutput.Call(),
		asm.JSGE.Imm(asm.R0, 0, "out"),
		// lost[0]++
		asm.StoreImm(asm.RFP, stZero, 0, asm.Word),
		asm.LoadMapPtr(asm.R1, fd.lost),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, stZero),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
		asm.Return(),
	}
}
