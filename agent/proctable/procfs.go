package proctable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The Linux procfs decoders. They carry no build tag: procfs is read on
// Linux only, its decoding is tested everywhere.

// Stat is what a Linux /proc/PID/stat line says about a process.
type Stat struct {
	Comm  string
	State byte
	PPID  int32
	// StartTicks is the start time in clock ticks (USER_HZ) since boot.
	StartTicks uint64
}

// Exited reports whether the process has exited and waits to be reaped.
func (s Stat) Exited() bool { return s.State == 'Z' || s.State == 'X' || s.State == 'x' }

// ParseStat decodes /proc/PID/stat: "pid (comm) state ppid ... starttime
// ...", starttime being the 22nd field. The comm may itself hold spaces
// and parentheses, so it runs to the last ')'.
func ParseStat(b []byte) (Stat, error) {
	var st Stat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return st, errors.New("stat: no (comm)")
	}
	st.Comm = string(b[open+1 : end])
	rest := b[end+1:]
	// Fields after comm, 1-based from state (field 3 of the line).
	field := 0
	for len(rest) > 0 {
		rest = bytes.TrimLeft(rest, " ")
		if len(rest) == 0 {
			break
		}
		n := bytes.IndexByte(rest, ' ')
		if n < 0 {
			n = len(rest)
		}
		tok := bytes.TrimRight(rest[:n], "\n")
		rest = rest[n:]
		field++
		switch field {
		case 1:
			if len(tok) != 1 {
				return st, fmt.Errorf("stat: state %q is not one letter", tok)
			}
			st.State = tok[0]
		case 2:
			v, err := strconv.ParseInt(string(tok), 10, 32)
			if err != nil {
				return st, fmt.Errorf("stat: ppid %q: %w", tok, err)
			}
			st.PPID = int32(v)
		case 20:
			v, err := strconv.ParseUint(string(tok), 10, 64)
			if err != nil {
				return st, fmt.Errorf("stat: starttime %q: %w", tok, err)
			}
			st.StartTicks = v
			return st, nil
		}
	}
	return st, fmt.Errorf("stat: only %d fields after comm, want at least 20", field)
}

// ParseBootTime finds "btime SECONDS" in /proc/stat.
func ParseBootTime(b []byte) (int64, error) {
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/stat: btime %q: %w", v, err)
			}
			return n, nil
		}
	}
	return 0, errors.New("/proc/stat: no btime line")
}

// ParseStatusUID reads the real UID from the Uid line of /proc/PID/status.
func ParseStatusUID(status []byte) (int, bool) {
	uid, _, ok := ParseStatusUIDs(status)
	return uid, ok
}

// ParseStatusUIDs reads the real and the effective UID from the Uid line
// of /proc/PID/status ("Uid: real effective saved filesystem").
func ParseStatusUIDs(status []byte) (uid, euid int, ok bool) {
	for len(status) > 0 {
		line, rest, _ := bytes.Cut(status, []byte("\n"))
		status = rest
		v, found := bytes.CutPrefix(line, []byte("Uid:"))
		if !found {
			continue
		}
		f := bytes.Fields(v)
		if len(f) < 2 {
			return 0, 0, false
		}
		uid, err1 := strconv.Atoi(string(f[0]))
		euid, err2 := strconv.Atoi(string(f[1]))
		return uid, euid, err1 == nil && err2 == nil && uid >= 0 && euid >= 0
	}
	return 0, 0, false
}

// ParsePIDName returns the PID a /proc entry name stands for, or false
// for entries that are not processes ("self", "sys", "+1", ...).
func ParsePIDName(name []byte) (int32, bool) {
	if len(name) == 0 || len(name) > 10 {
		return 0, false
	}
	var n int64
	for _, c := range name {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if n <= 0 || n > 1<<31-1 {
		return 0, false
	}
	return int32(n), true
}

// ForEachDirent calls fn with the name of each linux_dirent64 record in
// buf, as getdents64 fills it (d_ino u64, d_off s64, d_reclen u16, d_type
// u8, d_name NUL-terminated), without allocating (x/sys's ParseDirent
// allocates a string per entry); the name is only valid during the call.
// Records are in the host's byte order, little-endian on every
// architecture the agent ships for.
func ForEachDirent(buf []byte, fn func(name []byte)) {
	const nameOff = 19
	for len(buf) >= nameOff {
		reclen := int(binary.LittleEndian.Uint16(buf[16:]))
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

// AppendDirentPIDs appends the PIDs named by the linux_dirent64 records
// in buf (see ForEachDirent) to pids.
func AppendDirentPIDs(pids []int32, buf []byte) []int32 {
	// ForEachDirent's loop, without a call per entry: this runs for every
	// process on every poll.
	const nameOff = 19
	for len(buf) >= nameOff {
		reclen := int(binary.LittleEndian.Uint16(buf[16:]))
		if reclen < nameOff || reclen > len(buf) {
			return pids
		}
		name := buf[nameOff:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if pid, ok := ParsePIDName(name); ok {
			pids = append(pids, pid)
		}
		buf = buf[reclen:]
	}
	return pids
}

// userHZ is the unit of the start time in /proc/PID/stat: the kernel
// reports it in USER_HZ, which is 100 on every architecture Go supports.
const userHZ = 100

// LinuxStartTime is the wall-clock start of a process that started ticks
// (USER_HZ) after a boot at bootSec (Unix seconds, the btime of
// /proc/stat): the one definition of a process's start time on Linux.
func LinuxStartTime(bootSec int64, ticks uint64) time.Time {
	return time.Unix(bootSec, 0).Add(time.Duration(ticks) * (time.Second / userHZ))
}
