package main

import (
	"fmt"
	"os"
	"sync"
)

// maxLogSize bounds the agent's log file; beyond it the file is moved to
// FILE.1 (replacing the older copy) and a new one is started.
const maxLogSize = 10 << 20

// logFile is an append-only log file kept under max bytes with one older
// copy. Written by hand: the agent needs only this, not a logging library.
type logFile struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
}

func openLogFile(path string, max int64) (*logFile, error) {
	l := &logFile{path: path, max: max}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *logFile) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("log file (--log-file): %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log file (--log-file): %w", err)
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// Write appends p, first moving a full file aside. A failed rotation keeps
// writing to the current file: a log line is never lost for it.
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	if l.size > 0 && l.size+int64(len(p)) > l.max {
		l.rotate()
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// rotate moves the file to path.1. The file is closed first: Windows does
// not rename an open file.
func (l *logFile) rotate() {
	if err := l.f.Close(); err != nil {
		return
	}
	renameErr := os.Rename(l.path, l.path+".1")
	if err := l.open(); err != nil {
		l.f = nil
		return
	}
	if renameErr != nil {
		// Could not move it aside: go on in the same file.
		return
	}
}

// Close closes the file.
func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
