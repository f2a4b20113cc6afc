package proctable

import (
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf16"
)

// The Windows decoders: PROCESSENTRY32W as Process32First/Next fill it,
// and FILETIME. They carry no build tag, so they are tested on every OS;
// proctable_windows.go checks the offsets against x/sys's ProcessEntry32
// when it is compiled.

// Offsets into PROCESSENTRY32W on 64-bit Windows.
const (
	pe32Size     = 568
	pe32PID      = 8  // th32ProcessID, DWORD
	pe32PPID     = 32 // th32ParentProcessID, DWORD
	pe32ExeFile  = 44 // szExeFile, WCHAR[MAX_PATH]
	pe32MaxPath  = 260
	pe32ExeBytes = 2 * pe32MaxPath
)

// decodeProcessEntry32 decodes one PROCESSENTRY32W; ok is false for the
// System Idle Process (PID 0), which is no process to watch.
func decodeProcessEntry32(b []byte) (e Entry, ok bool, err error) {
	if len(b) < pe32Size {
		return Entry{}, false, fmt.Errorf("PROCESSENTRY32W: %d bytes, want %d", len(b), pe32Size)
	}
	le := binary.LittleEndian
	e.PID = int32(le.Uint32(b[pe32PID:]))
	e.PPID = int32(le.Uint32(b[pe32PPID:]))
	name := make([]uint16, 0, 32)
	for i := pe32ExeFile; i < pe32ExeFile+pe32ExeBytes; i += 2 {
		c := le.Uint16(b[i:])
		if c == 0 {
			break
		}
		name = append(name, c)
	}
	e.Name = string(utf16.Decode(name))
	return e, e.PID != 0, nil
}

// FiletimeTime converts a FILETIME (100 ns intervals since 1601-01-01
// UTC, as ID.Start holds it on Windows) to a time.
func FiletimeTime(ft int64) time.Time {
	// 116444736000000000 is 1970-01-01 as a FILETIME.
	const epochDiff = 116444736000000000
	return time.Unix(0, (ft-epochDiff)*100)
}
