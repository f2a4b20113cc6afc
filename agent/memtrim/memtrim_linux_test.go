package memtrim

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// exeRssKiB is the resident size of the executable's read-only
// mappings, from smaps (RssFile would count the C library of a -race
// build too).
func exeRssKiB(t *testing.T) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	dev := fmt.Sprintf("%02x:%02x", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)))
	var sum uint64
	ours := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && !strings.HasSuffix(f[0], ":"):
			ours = f[3] == dev && f[4] == strconv.FormatUint(st.Ino, 10) && f[1][1] != 'w'
		case ours && len(f) >= 2 && f[0] == "Rss:":
			n, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			sum += n
		}
	}
	return sum
}

func TestTrimDropsExecutablePages(t *testing.T) {
	// Make the whole read-only image resident, as start-up does, so that
	// the drop is measured against a known resident set: reading
	// /proc/self/mem faults the pages into this process's mappings.
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		t.Fatal(err)
	}
	maps := mappingsOf(t, st, -1)
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	page := make([]byte, 1)
	for _, m := range maps {
		for a := m.start; a < m.end; a += uint64(os.Getpagesize()) {
			if _, err := mem.ReadAt(page, int64(a)); err != nil {
				t.Fatalf("reading %#x: %v", a, err)
			}
		}
	}
	before := exeRssKiB(t)
	s, err := Trim()
	if err != nil {
		t.Fatal(err)
	}
	after := exeRssKiB(t)
	t.Logf("executable resident %d kB -> %d kB; %+v", before, after, s)
	if s.Mappings == 0 {
		t.Fatalf("no mapping of the executable was dropped: %+v", s)
	}
	// The code that runs after the trim (the GC the trim starts, this
	// measurement) comes back at once, 64 kB of fault-around at a time:
	// 1.2-1.7 MB of a 3.7-4.5 MB test binary. Without the drop, all of it
	// would stay.
	if after*3 > before*2 {
		t.Errorf("the executable's resident pages went from %d kB to %d kB, want at most two thirds", before, after)
	}
	// The code still runs: what was dropped comes back from the page cache.
	if _, err := Trim(); err != nil {
		t.Fatal(err)
	}
}

// privateMapping maps a three-page file read-only the way the loader maps
// relocated data: private, written once, then made read-only.
func privateMapping(t *testing.T, written bool) (data []byte, st unix.Stat_t) {
	t.Helper()
	page := os.Getpagesize()
	content := bytes.Repeat([]byte("f"), 3*page)
	path := filepath.Join(t.TempDir(), "image")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	data, err = unix.Mmap(int(f.Fd()), 0, len(content), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(data) })
	if written {
		data[page] = 'w'
	}
	for i := 0; i < len(data); i += page {
		_ = data[i] // resident
	}
	if err := unix.Mprotect(data, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	return data, st
}

// mappingsOf returns the read-only mappings of the file st describes,
// and checks that there are want of them (when want >= 0).
func mappingsOf(t *testing.T, st unix.Stat_t, want int) []mapping {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	maps, err := imageMappings(f, uint64(unix.Major(uint64(st.Dev))), uint64(unix.Minor(uint64(st.Dev))), st.Ino)
	if err != nil {
		t.Fatal(err)
	}
	if want >= 0 && len(maps) != want {
		t.Fatalf("found %d mappings of the file, want %d: %+v", len(maps), want, maps)
	}
	return maps
}

func TestDropKeepsPrivateCopies(t *testing.T) {
	data, st := privateMapping(t, true)
	maps := mappingsOf(t, st, 1)
	if maps[0].private == 0 {
		t.Fatalf("the written page is not counted as a private copy: %+v", maps[0])
	}
	s, err := dropMappings(maps)
	if err != nil {
		t.Fatal(err)
	}
	if s.Skipped != 1 || s.Mappings != 0 {
		t.Errorf("stats %+v, want the mapping skipped", s)
	}
	if got := data[os.Getpagesize()]; got != 'w' {
		t.Errorf("the private copy was lost: byte %q, want 'w'", got)
	}
}

func TestDropUnmodifiedMapping(t *testing.T) {
	data, st := privateMapping(t, false)
	maps := mappingsOf(t, st, 1)
	vec := make([]byte, 3)
	if err := mincore(data, vec); err != nil {
		t.Fatal(err)
	}
	s, err := dropMappings(maps)
	if err != nil {
		t.Fatal(err)
	}
	if s.Mappings != 1 || s.Bytes != uint64(len(data)) {
		t.Errorf("stats %+v, want one mapping of %d bytes dropped", s, len(data))
	}
	// Dropped pages stay in the page cache (mincore reports cache
	// residency) and come back with their file content.
	if err := mincore(data, vec); err != nil {
		t.Fatal(err)
	}
	for i, v := range vec {
		if v&1 == 0 {
			t.Errorf("page %d left the page cache", i)
		}
	}
	if !bytes.Equal(data, bytes.Repeat([]byte("f"), len(data))) {
		t.Error("the dropped pages did not come back with the file's content")
	}
}

func TestImageMappingsErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"zz-10 r-xp 00000000 08:01 12 /x\n", `line 1: bad address range "zz-10"`},
		{"10-20 r-xp 00000000 0801 12 /x\n", `line 1: bad device "0801"`},
		{"10-20 r-xp 00000000 08:01 1x /x\n", `line 1: bad inode "1x"`},
		{"10-20 r-xp 00000000 08:01 12 /x\nRss: 4 kB\nAnonymous: x kB\n", `line 3: Anonymous: "x" is not a number`},
		{"10-20 r-xp 00000000 08:01 12 /x\ngarbage\n", `line 2: "garbage" is neither a mapping nor a field`},
	} {
		_, err := imageMappings(strings.NewReader(tc.in), 8, 1, 12)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.in, err, tc.want)
		}
	}
	maps, err := imageMappings(strings.NewReader(
		"10-20 r-xp 00000000 08:01 12 /x\nAnonymous: 0 kB\nVmFlags: rd ex\n"+
			"20-30 rw-p 00001000 08:01 12 /x\nAnonymous: 4 kB\n"+
			"30-40 r--p 00002000 08:01 12 /x\nAnonymous: 8 kB\n"+
			"40-50 r--p 00000000 08:01 13 /y\n"+
			"50-60 rw-p 00000000 00:00 0\n"), 8, 1, 12)
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{{0x10, 0x20, 0}, {0x30, 0x40, 8}}
	if len(maps) != len(want) || maps[0] != want[0] || maps[1] != want[1] {
		t.Errorf("mappings %+v, want %+v", maps, want)
	}
}

func FuzzImageMappings(f *testing.F) {
	if b, err := os.ReadFile("/proc/self/smaps"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("10-20 r-xp 00000000 08:01 12 /x\nAnonymous: 0 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		maps, err := imageMappings(bytes.NewReader(b), 8, 1, 12)
		if err != nil {
			return
		}
		for _, m := range maps {
			if m.start >= m.end {
				t.Fatalf("empty or reversed mapping %+v", m)
			}
		}
	})
}

// mincore reports which pages of b are in the page cache (x/sys/unix has
// no wrapper).
func mincore(b, vec []byte) error {
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		return errno
	}
	return nil
}

// BenchmarkTrim is the cost of one trim of this test binary (a collection
// of its small heap, the smaps read, the madvise calls); the agent trims
// every 10 minutes.
func BenchmarkTrim(b *testing.B) {
	for b.Loop() {
		if _, err := Trim(); err != nil {
			b.Fatal(err)
		}
	}
}
