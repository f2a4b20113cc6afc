package appid

import (
	"os"
	"syscall"
)

func statStamp(fi os.FileInfo) fileStamp {
	s := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.dev, s.ino, s.ctime = uint64(st.Dev), st.Ino, st.Ctim.Nano()
	}
	return s
}

// stampPaths: /proc/PID/exe is the file the process runs, whatever its mount
// namespace (flatpak) or whether the path was replaced since; the path itself
// when the process is gone.
func (in *Inspector) stampPaths(pid int32, exe string) []string {
	if pid > 0 {
		return []string{in.underRoot(procPath(pid, "exe")), in.underRoot(exe)}
	}
	return []string{in.underRoot(exe)}
}
