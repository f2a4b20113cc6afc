package appconfig

import "errors"

// Bounds on what is read from a user's files. An app's settings file is a
// few kilobytes; the bounds only stop a hostile or broken home from making
// the agent read gigabytes.
const (
	// maxConfigBytes bounds one settings file (JSON or INI).
	maxConfigBytes = 4 << 20
	// maxPlistBytes bounds a property-list settings file. Recorded
	// ZoomChat.plist files are under 1 KiB; decoding a deeply nested
	// 4 MiB property list takes seconds of CPU, a 256 KiB one a tenth of
	// that.
	maxPlistBytes = 256 << 10
	// maxLevelDBFileBytes bounds one LevelDB log or table file. LevelDB
	// starts a new log at 4 MiB of writes (write_buffer_size) and writes
	// tables of about 2 MiB; Chromium's local storage holds at most 10 MiB
	// per origin. A file over the bound is refused, not skipped, because
	// skipping could hide the newest value.
	maxLevelDBFileBytes = 16 << 20
	// maxLevelDBTotalBytes bounds all files of one LevelDB directory.
	maxLevelDBTotalBytes = 64 << 20
	// maxLevelDBFiles bounds how many files of one LevelDB directory are
	// read.
	maxLevelDBFiles = 64
)

// Reasons a user's file is refused. They are wrapped with the file's path.
var (
	errSymlink  = errors.New("refused: is a symbolic link")
	errNotFile  = errors.New("refused: not a regular file")
	errNotDir   = errors.New("refused: not a directory")
	errTooLarge = errors.New("refused: larger than the size bound")
)

// MaxUserFileBytes bounds a settings file read with ReadUserFile by other
// packages (the same bound as an app's settings file here).
const MaxUserFileBytes = maxConfigBytes

// ReadUserFile reads a file from a user's home the way this package does:
// the final component must not be a symbolic link (a reparse point on
// Windows), the file must be regular, owned by uid or root (unix) and at
// most limit bytes. Errors name the path; a missing file matches
// fs.ErrNotExist.
func ReadUserFile(path string, uid int, limit int64) ([]byte, error) {
	return readUserFile(path, uid, limit)
}
