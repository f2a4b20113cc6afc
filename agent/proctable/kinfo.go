package proctable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The macOS decoders: kinfo_proc records as sysctl kern.proc.* returns
// them, and the value of kern.procargs2. They carry no build tag, so they
// are tested on every OS; proctable_darwin.go checks the offsets against
// x/sys's KinfoProc when it is compiled.

// Offsets into struct kinfo_proc on darwin/amd64 and darwin/arm64 (the
// layout is the same on both).
const (
	kinfoSize      = 648
	kinfoStartSec  = 0   // kp_proc.p_starttime.tv_sec, int64
	kinfoStartUsec = 8   // kp_proc.p_starttime.tv_usec, int32
	kinfoStat      = 36  // kp_proc.p_stat, int8
	kinfoPID       = 40  // kp_proc.p_pid, int32
	kinfoComm      = 243 // kp_proc.p_comm, [MAXCOMLEN+1]byte
	kinfoCommLen   = 17
	kinfoRUID      = 392 // kp_eproc.e_pcred.p_ruid, uint32
	kinfoEUID      = 420 // kp_eproc.e_ucred.cr_uid, uint32
	kinfoPPID      = 560 // kp_eproc.e_ppid, int32
)

// sZomb is SZOMB from <sys/proc.h>: the process has exited and waits for
// its parent to reap it.
const sZomb = 5

// kinfo is what the table uses of one kinfo_proc.
type kinfo struct {
	Entry
	Zombie bool
	RUID   uint32
	EUID   uint32
}

// decodeKinfo decodes one kinfo_proc record.
func decodeKinfo(b []byte) (kinfo, error) {
	if len(b) < kinfoSize {
		return kinfo{}, fmt.Errorf("kinfo_proc: %d bytes, want %d", len(b), kinfoSize)
	}
	le := binary.LittleEndian
	sec := int64(le.Uint64(b[kinfoStartSec:]))
	usec := int64(int32(le.Uint32(b[kinfoStartUsec:])))
	comm := b[kinfoComm : kinfoComm+kinfoCommLen]
	if i := bytes.IndexByte(comm, 0); i >= 0 {
		comm = comm[:i]
	}
	return kinfo{
		Entry: Entry{
			ID:   ID{PID: int32(le.Uint32(b[kinfoPID:])), Start: sec*1_000_000 + usec},
			PPID: int32(le.Uint32(b[kinfoPPID:])),
			Name: string(comm),
		},
		Zombie: b[kinfoStat] == sZomb,
		RUID:   le.Uint32(b[kinfoRUID:]),
		EUID:   le.Uint32(b[kinfoEUID:]),
	}, nil
}

// decodeKinfoList decodes the value of sysctl kern.proc.all, skipping
// zombies and the kernel (PID 0).
func decodeKinfoList(b []byte) ([]Entry, error) {
	if len(b)%kinfoSize != 0 {
		return nil, fmt.Errorf("kern.proc.all: %d bytes, not a whole number of %d-byte kinfo_proc", len(b), kinfoSize)
	}
	out := make([]Entry, 0, len(b)/kinfoSize)
	for ; len(b) > 0; b = b[kinfoSize:] {
		k, err := decodeKinfo(b[:kinfoSize])
		if err != nil {
			return nil, err
		}
		if k.PID <= 0 || k.Zombie {
			continue
		}
		out = append(out, k.Entry)
	}
	return out, nil
}

// DarwinStartTime is the wall-clock time of a macOS start time
// (microseconds since the epoch, as the kernel keeps p_starttime).
func DarwinStartTime(usec int64) time.Time { return time.UnixMicro(usec) }

// ParseProcArgs2 returns the executable path from the value of the macOS
// sysctl kern.procargs2 for one process. The value is laid out as
//
//	argc    int32, host byte order (little-endian on every Mac Go supports)
//	path    the executable path, NUL-terminated
//	        NUL padding
//	argv    argc NUL-terminated strings, then the environment and the
//	        "apple" strings (executable_path=..., ...)
//
// The path is the one given to execve (for a #! script, the interpreter's),
// so a program started by a relative path shows a relative one: that is
// reported as an error rather than guessed at. Only the path is decoded.
func ParseProcArgs2(b []byte) (string, error) {
	if len(b) < 4 {
		return "", fmt.Errorf("procargs2: %d bytes, too short for argc", len(b))
	}
	if argc := int32(binary.LittleEndian.Uint32(b)); argc < 0 {
		return "", fmt.Errorf("procargs2: negative argc %d", argc)
	}
	rest := b[4:]
	end := bytes.IndexByte(rest, 0)
	if end < 0 {
		return "", errors.New("procargs2: executable path not NUL-terminated")
	}
	path := rest[:end]
	if len(path) == 0 {
		return "", errors.New("procargs2: empty executable path")
	}
	if path[0] != '/' {
		return "", fmt.Errorf("procargs2: executable path %q is not absolute", path)
	}
	return string(path), nil
}
