//go:build !linux && !darwin && !windows

package appid

import "os"

func statStamp(fi os.FileInfo) fileStamp {
	return fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}
