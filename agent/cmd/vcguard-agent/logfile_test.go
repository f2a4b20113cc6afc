package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestLogFileRotates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.log")
	if err := os.WriteFile(path, []byte("from before\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := openLogFile(path, 64)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte("0123456789012345678901234567890\n") // 32 bytes
	for range 4 {
		if _, err := l.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	cur, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(path + ".1")
	if err != nil {
		t.Fatal(err)
	}
	// 12 + 32 fit in 64; the next line moves them aside; two lines fill the
	// new file; the fourth moves those aside.
	if !bytes.Equal(cur, line) || !bytes.Equal(old, bytes.Repeat(line, 2)) {
		t.Errorf("current %q, older %q", cur, old)
	}
	if _, err := l.Write(line); err == nil {
		t.Error("Write after Close succeeded")
	}
}
