//go:build unix

package posture

import (
	"io/fs"
	"syscall"
)

// ownedBy: the file belongs to uid or root.
func ownedBy(fi fs.FileInfo, uid int) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && (st.Uid == 0 || int64(st.Uid) == int64(uid))
}
