package appid

import (
	"os"
	"syscall"
)

// statStamp: Windows has no inode or change time in a FileInfo; creation time
// changes when an updater writes a new file instead of rewriting the old one.
func statStamp(fi os.FileInfo) fileStamp {
	s := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if d, ok := fi.Sys().(*syscall.Win32FileAttributeData); ok {
		s.ctime = d.CreationTime.Nanoseconds()
	}
	return s
}
