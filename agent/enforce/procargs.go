package enforce

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// parseProcArgs2 returns the executable path from the value of the macOS
// sysctl kern.procargs2 for one process: argc (int32, little-endian on
// every Mac Go supports), then the executable path NUL-terminated, then
// padding, arguments and environment. It decodes the path the way
// procwatch does (its parser is not exported), so that it compares equal
// to Target.Exe. It lives without a build tag to be tested on every OS.
func parseProcArgs2(b []byte) (string, error) {
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
	if end == 0 {
		return "", errors.New("procargs2: empty executable path")
	}
	return string(rest[:end]), nil
}
