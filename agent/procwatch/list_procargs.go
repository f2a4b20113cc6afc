package procwatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

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
// reported as an error rather than guessed at. Only the path is decoded;
// the arguments and environment are not needed.
//
// The function lives without a build tag so that it is tested, and fuzzed,
// on every OS.
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
