package macpkg

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCksum(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want uint32
	}{
		{"", 4294967295},
		{"123456789", 930766865}, // POSIX cksum's check value
	} {
		if got := cksum([]byte(tc.in)); got != tc.want {
			t.Errorf("cksum(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if _, err := exec.LookPath("cksum"); err != nil {
		t.Log("no cksum tool; checked the fixed values only")
		return
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 255, 256, 65537} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		cmd := exec.Command("cksum")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		want, err := strconv.ParseUint(strings.Fields(string(out))[0], 10, 32)
		if err != nil {
			t.Fatal(err)
		}
		if got := cksum(data); got != uint32(want) {
			t.Errorf("%d bytes: cksum %d, the cksum tool says %d", n, got, want)
		}
	}
}

func TestCPIORoundTrip(t *testing.T) {
	t.Parallel()
	in := []cpioEntry{
		{Name: ".", Mode: modeDir | 0o755, MTime: 1700000000},
		{Name: "./a b", Mode: modeDir | 0o750, UID: 1, GID: 80, MTime: 1700000000},
		{Name: "./a b/f", Mode: modeRegular | 0o644, MTime: 1700000001, Data: []byte("hello\n")},
		{Name: "./empty", Mode: modeRegular | 0o600},
	}
	var buf bytes.Buffer
	if err := writeCPIO(&buf, in); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("070707")) {
		t.Fatalf("not odc: %q", buf.Bytes()[:6])
	}
	out, err := readCPIO(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d entries back, want %d", len(out), len(in))
	}
	for i := range in {
		a, b := in[i], out[i]
		if a.Name != b.Name || a.Mode != b.Mode || a.UID != b.UID || a.GID != b.GID || a.MTime != b.MTime || !bytes.Equal(a.Data, b.Data) {
			t.Errorf("entry %d: got %+v, want %+v", i, b, a)
		}
	}
	if err := writeCPIO(&buf, []cpioEntry{{Name: "./l", Mode: 0o120777}}); err == nil {
		t.Error("a symlink was written")
	}
	if _, err := readCPIO(buf.Bytes()[:len(buf.Bytes())-10]); err == nil {
		t.Error("a truncated archive was read")
	}
}

func TestCPIOWithBsdtar(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bsdtar"); err != nil {
		t.Skip("bsdtar not installed (Debian package libarchive-tools)")
	}
	var buf bytes.Buffer
	if err := writeCPIO(&buf, []cpioEntry{
		{Name: ".", Mode: modeDir | 0o755},
		{Name: "./x", Mode: modeRegular | 0o751, Data: []byte("data")},
	}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bsdtar", "-tvf", "-")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bsdtar: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "-rwxr-x--x") || !strings.Contains(string(out), "./x") {
		t.Errorf("bsdtar -tv:\n%s", out)
	}
}

// fakeMachO is a thin Mach-O executable header for cpu, no load commands,
// followed by filler: enough for debug/macho and for universal.
func fakeMachO(cpu macho.Cpu, sub uint32, filler int) []byte {
	var b []byte
	le := binary.LittleEndian
	for _, v := range []uint32{macho.Magic64, uint32(cpu), sub, uint32(macho.TypeExec), 0, 0, 0, 0} {
		b = le.AppendUint32(b, v)
	}
	for i := range filler {
		b = append(b, byte(i*7+int(cpu)))
	}
	return b
}

func TestUniversal(t *testing.T) {
	t.Parallel()
	arm := fakeMachO(macho.CpuArm64, 0, 5000)
	amd := fakeMachO(macho.CpuAmd64, 3, 20000)
	fat, err := universal([][]byte{arm, amd})
	if err != nil {
		t.Fatal(err)
	}
	ff, err := macho.NewFatFile(bytes.NewReader(fat))
	if err != nil {
		t.Fatal(err)
	}
	want := map[macho.Cpu][]byte{macho.CpuAmd64: amd, macho.CpuArm64: arm}
	if len(ff.Arches) != 2 {
		t.Fatalf("%d arches", len(ff.Arches))
	}
	for _, a := range ff.Arches {
		if a.Offset%(1<<14) != 0 || a.Align != 14 {
			t.Errorf("%v at %d, align %d", a.Cpu, a.Offset, a.Align)
		}
		if !bytes.Equal(fat[a.Offset:a.Offset+a.Size], want[a.Cpu]) {
			t.Errorf("%v slice differs", a.Cpu)
		}
	}
	if _, err := universal([][]byte{arm, arm}); err == nil {
		t.Error("two arm64 slices joined")
	}
	if _, err := universal([][]byte{[]byte("#!/bin/sh\n")}); err == nil {
		t.Error("a script joined")
	}
}

func TestXARRoundTrip(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("compressible "), 1000)
	in := []xarFile{
		{Name: "top", Mode: 0o644, Data: []byte("<x/>"), Compress: true},
		{Name: "d", Dir: true, Mode: 0o755, Children: []xarFile{
			{Name: "big", Mode: 0o644, Data: big, Compress: true},
			{Name: "raw", Mode: 0o600, Data: []byte{0, 1, 2}},
			{Name: "empty", Mode: 0o644},
		}},
	}
	var buf bytes.Buffer
	if err := writeXAR(&buf, in, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	a, err := readXAR(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		path string
		dir  bool
		mode uint32
		data []byte
		enc  string
	}{
		{"top", false, 0o644, []byte("<x/>"), encZlib},
		{"d", true, 0o755, nil, ""},
		{"d/big", false, 0o644, big, encZlib},
		{"d/raw", false, 0o600, []byte{0, 1, 2}, encStored},
		{"d/empty", false, 0o644, nil, encStored},
	} {
		e := a.File(w.path)
		if e == nil {
			t.Errorf("%s missing", w.path)
			continue
		}
		if e.Dir != w.dir || e.Mode != w.mode || !bytes.Equal(e.Data, w.data) || e.Encoding != w.enc {
			t.Errorf("%s: dir %v mode %o enc %q %d bytes; want dir %v mode %o enc %q %d bytes", w.path, e.Dir, e.Mode, e.Encoding, len(e.Data), w.dir, w.mode, w.enc, len(w.data))
		}
	}
	if buf.Len() > 2000 {
		t.Errorf("%d bytes: the big file was not compressed", buf.Len())
	}

	// Any flipped bit in the heap must fail a checksum.
	b := buf.Bytes()
	hsize := xarHeaderSize + int(binary.BigEndian.Uint64(b[8:]))
	for _, off := range []int{hsize, hsize + 25, len(b) - 1} {
		bad := bytes.Clone(b)
		bad[off] ^= 1
		if _, err := readXAR(bad); err == nil {
			t.Errorf("flipped bit at %d (heap starts at %d) not noticed", off, hsize)
		}
	}
}

func TestBOMRoundTrip(t *testing.T) {
	t.Parallel()
	in := []bomEntry{
		{Path: ".", Mode: modeDir | 0o755},
		{Path: "./Library", Mode: modeDir | 0o755, MTime: 5},
		{Path: "./Library/b", Mode: modeRegular | 0o644, Size: 3, Checksum: 42, UID: 501, GID: 20},
		{Path: "./Library/a", Mode: modeRegular | 0o755, Size: 7, Checksum: 7},
	}
	b, err := writeBOM(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := readBOM(b)
	if err != nil {
		t.Fatal(err)
	}
	// Breadth-first, children sorted.
	want := []bomEntry{in[0], in[1], in[3], in[2]}
	if len(out) != len(want) {
		t.Fatalf("%d paths back: %+v", len(out), out)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("path %d: %+v, want %+v", i, out[i], want[i])
		}
	}
	if _, err := writeBOM([]bomEntry{{Path: ".", Mode: modeDir | 0o755}, {Path: "./a/b", Mode: modeRegular}}); err == nil {
		t.Error("a path without its parent directory was written")
	}
}

func TestBOMManyPaths(t *testing.T) {
	t.Parallel()
	in := []bomEntry{{Path: ".", Mode: modeDir | 0o755}}
	for i := range 700 { // three leaves and a branch node
		in = append(in, bomEntry{Path: "./f" + strconv.Itoa(1000+i), Mode: modeRegular | 0o644, Size: uint32(i), Checksum: uint32(i * 3)})
	}
	b, err := writeBOM(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := readBOM(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d paths back, want %d", len(out), len(in))
	}
	for i := range in {
		if out[i] != in[i] {
			t.Fatalf("path %d: %+v, want %+v", i, out[i], in[i])
		}
	}
}
