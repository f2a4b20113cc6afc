package macpkg

import (
	"bytes"
	"testing"
	"time"
)

// The readers take untrusted input: they must return an error, never
// panic, loop or allocate without bound.

func FuzzReadXAR(f *testing.F) {
	var buf bytes.Buffer
	if err := writeXAR(&buf, []xarFile{
		{Name: "a", Mode: 0o644, Data: []byte("x"), Compress: true},
		{Name: "d", Dir: true, Mode: 0o755, Children: []xarFile{{Name: "b", Mode: 0o644, Data: []byte("y")}}},
	}, time.Unix(0, 0)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("xar!\x00\x1c\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := readXAR(b)
		if err == nil && a == nil {
			t.Fatal("nil archive without an error")
		}
	})
}

func FuzzReadBOM(f *testing.F) {
	b, err := writeBOM([]bomEntry{
		{Path: ".", Mode: modeDir | 0o755},
		{Path: "./f", Mode: modeRegular | 0o644, Size: 1, Checksum: 2},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("BOMStore\x00\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		readBOM(b) //nolint:errcheck // only panics matter
	})
}

func FuzzReadCPIO(f *testing.F) {
	var buf bytes.Buffer
	if err := writeCPIO(&buf, []cpioEntry{{Name: ".", Mode: modeDir | 0o755}, {Name: "./f", Mode: modeRegular | 0o644, Data: []byte("z")}}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("070707"))
	f.Fuzz(func(t *testing.T, b []byte) {
		readCPIO(b) //nolint:errcheck // only panics matter
	})
}
