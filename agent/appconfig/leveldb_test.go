package appconfig

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The Jitsi Meet fixtures are LevelDB directories written by Chromium 156
// (testdata/jitsi-meet/README.md): leveldb-log holds one write in a log,
// leveldb-table holds two versions of the item in a Snappy-compressed table
// (the newer one UTF-16 encoded) and a fresh log.
func readJitsiFixture(t testing.TB, dir string) (string, bool) {
	t.Helper()
	userData := t.TempDir()
	copyDir(t, filepath.Join("testdata", "jitsi-meet", dir), localStorageDir(userData))
	items, err := readLocalStorage(userData, os.Getuid(), jitsiKind, jitsiOrigin, jitsiPersistKey)
	if err != nil {
		t.Fatalf("readLocalStorage(%s): %v", dir, err)
	}
	v, ok := items[jitsiPersistKey]
	return v, ok
}

func TestReadLocalStorageFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dir        string
		wantFormat byte     // 1 = Latin-1, 0 = UTF-16
		want       []string // substrings of the newest value
		wantNot    []string // substrings of older versions
	}{
		{dir: "leveldb-log", wantFormat: 1, want: []string{`\"serverURL\":\"https://meet.jit.si\"`, "PrivateRoomName"}},
		{
			dir: "leveldb-table",
			// The recording page had no charset, so Chromium read its "€"
			// as Windows-1252 "â‚¬"; U+201A made Chromium store the value
			// as UTF-16, which is what this case checks.
			want: []string{`\"serverURL\":\"https://jitsi.example.org\"`, "Besprechungsraum\u00e2\u201a\u00ac", "video.example.net:8443"},
			// The older version's settings named meet.jit.si.
			wantNot: []string{`\"disableAGC\":false,\"serverURL\":\"https://meet.jit.si\"`},
		},
	}
	for _, tt := range tests {
		v, ok := readJitsiFixture(t, tt.dir)
		if !ok {
			t.Fatalf("%s: item %s not found", tt.dir, jitsiPersistKey)
		}
		for _, w := range tt.want {
			if !strings.Contains(v, w) {
				t.Errorf("%s: value lacks %q", tt.dir, w)
			}
		}
		for _, w := range tt.wantNot {
			if strings.Contains(v, w) {
				t.Errorf("%s: value has %q", tt.dir, w)
			}
		}
		key := localStorageKey(jitsiOrigin, jitsiPersistKey)
		raw, err := readLevelDB(filepath.Join("testdata", "jitsi-meet", tt.dir), os.Getuid(), jitsiKind,
			func(k []byte) bool { return bytes.Equal(k, key) })
		if err != nil || len(raw[string(key)]) == 0 || raw[string(key)][0] != tt.wantFormat {
			t.Errorf("%s: raw value format byte: %v, want %d", tt.dir, err, tt.wantFormat)
		}
	}
}

func TestReadLocalStorageMissingItem(t *testing.T) {
	t.Parallel()
	userData := t.TempDir()
	copyDir(t, filepath.Join("testdata", "jitsi-meet", "leveldb-log"), localStorageDir(userData))
	items, err := readLocalStorage(userData, os.Getuid(), jitsiKind, "file://", "no-such-item")
	if err != nil || len(items) != 0 {
		t.Fatalf("got %v, %v; want no items", items, err)
	}
	// The same item of another origin is another key.
	items, err = readLocalStorage(userData, os.Getuid(), jitsiKind, "https://meet.jit.si", jitsiPersistKey)
	if err != nil || len(items) != 0 {
		t.Fatalf("other origin: got %v, %v; want no items", items, err)
	}
}

func TestParseLDBLogTornAndCorrupt(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "jitsi-meet", "leveldb-log", "000003.log"))
	if err != nil {
		t.Fatal(err)
	}
	key := localStorageKey(jitsiOrigin, jitsiPersistKey)
	want := func(k []byte) bool { return bytes.Equal(k, key) }

	// Every torn length decodes without error; the item appears only once
	// its whole record is there.
	for n := 0; n <= len(data); n++ {
		nw := newLDBNewest(want)
		if err := parseLDBLog(data[:n], nw); err != nil {
			t.Fatalf("torn at %d: %v", n, err)
		}
		_, found := nw.values()[string(key)]
		// The fixture's second and last record is the batch holding the
		// item, so only the whole file holds it.
		complete := n == len(data)
		if found && !complete {
			t.Fatalf("torn at %d: item found in an incomplete record", n)
		}
	}

	// A flipped byte inside the item's record fails its checksum: the
	// record is skipped, not misread.
	bad := bytes.Clone(data)
	bad[0x100] ^= 0x20
	nw := newLDBNewest(want)
	if err := parseLDBLog(bad, nw); err != nil {
		t.Fatalf("corrupt record: %v", err)
	}
	if _, found := nw.values()[string(key)]; found {
		t.Error("corrupt record was read")
	}
}

func TestParseLDBTableCorrupt(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "jitsi-meet", "leveldb-table", "000003.ldb"))
	if err != nil {
		t.Fatal(err)
	}
	all := func([]byte) bool { return true }
	if err := parseLDBTable(data, newLDBNewest(all)); err != nil {
		t.Fatalf("fixture table: %v", err)
	}
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   string
	}{
		{"short", func(b []byte) []byte { return b[:20] }, "shorter than its footer"},
		{"no magic", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, "magic"},
		{"flipped data byte", func(b []byte) []byte { b[100] ^= 1; return b }, "checksum"},
	}
	for _, tt := range tests {
		err := parseLDBTable(tt.mutate(bytes.Clone(data)), newLDBNewest(all))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one saying %q", tt.name, err, tt.want)
		}
	}
}

func TestReadLevelDBBounds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := 0; i <= maxLevelDBFiles; i++ {
		name := filepath.Join(dir, fmt.Sprintf("%06d.log", i))
		if err := os.WriteFile(name, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := readLevelDB(dir, os.Getuid(), "test data", func([]byte) bool { return true })
	if err == nil || !strings.Contains(err.Error(), "more than the bound") {
		t.Fatalf("err = %v, want the file count bound", err)
	}
}

func TestDecodeLocalStorageString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      []byte
		want    string
		wantErr bool
	}{
		{in: []byte{1, 'a', 0xe9}, want: "aé"},
		{in: []byte{0, 0xac, 0x20}, want: "€"},
		{in: []byte{0, 0x3d, 0xd8, 0x00, 0xde}, want: "😀"},
		{in: nil, wantErr: true},
		{in: []byte{0, 1}, wantErr: true},
		{in: []byte{2, 'a'}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := decodeLocalStorageString(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("decode(%v) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if k := localStorageKey("file://", "persist:root"); !bytes.Equal(k, []byte("_file://\x00\x01persist:root")) {
		t.Errorf("localStorageKey = %q", k)
	}
}

func FuzzParseLDBLog(f *testing.F) {
	for _, p := range []string{"leveldb-log/000003.log", "leveldb-table/000004.log"} {
		b, err := os.ReadFile(filepath.Join("testdata", "jitsi-meet", p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = parseLDBLog(data, newLDBNewest(func([]byte) bool { return true }))
	})
}

func FuzzParseLDBTable(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "jitsi-meet", "leveldb-table", "000003.ldb"))
	if err != nil {
		f.Fatal(err)
	}
	// The recorded table decompresses to megabytes, too slow to mutate:
	// seed with a valid table of a few hundred bytes made of its smallest
	// (Snappy-compressed) data block.
	small := smallTable(f, b)
	if err := parseLDBTable(small, newLDBNewest(func([]byte) bool { return true })); err != nil {
		f.Fatalf("small table seed: %v", err)
	}
	f.Add(small)
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = parseLDBTable(data, newLDBNewest(func([]byte) bool { return true }))
	})
}

// smallTable builds a LevelDB table that holds only the smallest data block
// of a real table, with its own index, an empty metaindex and a footer.
func smallTable(t testing.TB, data []byte) []byte {
	t.Helper()
	footer := data[len(data)-ldbFooterSize:]
	_, used, _ := ldbDecodeHandle(footer)
	ih, _, _ := ldbDecodeHandle(footer[used:])
	budget := int64(ldbMaxTableDecoded)
	index, err := ldbReadBlock(data, ih, &budget)
	if err != nil {
		t.Fatal(err)
	}
	var best ldbHandle
	var bestKey []byte
	if err := ldbIterateBlock(index, func(k, v []byte) error {
		h, _, _ := ldbDecodeHandle(v)
		if bestKey == nil || h.size < best.size {
			best, bestKey = h, bytes.Clone(k)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(data[best.off : best.off+best.size+5]) // block and trailer
	handle := binary.AppendUvarint(binary.AppendUvarint(nil, 0), best.size)
	indexOff, indexBlock := uint64(len(out)), testBlock(bestKey, handle)
	out = appendTestBlock(out, indexBlock)
	metaOff, metaBlock := uint64(len(out)), testBlock(nil, nil)
	out = appendTestBlock(out, metaBlock)
	var ft []byte
	ft = binary.AppendUvarint(ft, metaOff)
	ft = binary.AppendUvarint(ft, uint64(len(metaBlock)))
	ft = binary.AppendUvarint(ft, indexOff)
	ft = binary.AppendUvarint(ft, uint64(len(indexBlock)))
	ft = append(ft, make([]byte, 40-len(ft))...)
	ft = binary.LittleEndian.AppendUint64(ft, ldbTableMagic)
	return append(out, ft...)
}

// testBlock is a block of at most one entry and one restart point.
func testBlock(key, value []byte) []byte {
	var b []byte
	if key != nil {
		b = binary.AppendUvarint(b, 0)
		b = binary.AppendUvarint(b, uint64(len(key)))
		b = binary.AppendUvarint(b, uint64(len(value)))
		b = append(append(b, key...), value...)
	}
	b = binary.LittleEndian.AppendUint32(b, 0) // restart at 0
	return binary.LittleEndian.AppendUint32(b, 1)
}

// appendTestBlock appends an uncompressed block and its trailer.
func appendTestBlock(out, block []byte) []byte {
	out = append(append(out, block...), 0)
	c := ldbCRC(block, []byte{0})
	return binary.LittleEndian.AppendUint32(out, (c>>15|c<<17)+0xa282ead8)
}

func FuzzDecodeLocalStorageString(f *testing.F) {
	f.Add([]byte{1, 'a'})
	f.Add([]byte{0, 0xac, 0x20})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeLocalStorageString(data)
	})
}

// copyDir copies a fixture directory (flat) to dst, creating dst.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
	}
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLDBSnappyClaimsBounded is what fuzzing found: a block whose checksum
// is right but whose Snappy header claims megabytes made the reader allocate
// that much per block. Such a claim is refused before any allocation.
func TestLDBSnappyClaimsBounded(t *testing.T) {
	t.Parallel()
	raw := binary.AppendUvarint(nil, 16<<20-1) // claims almost 16 MiB
	raw = append(raw, 0x00, 'x')               // from a 2-byte literal
	data := appendTestBlockType(nil, raw, 1)
	budget := int64(ldbMaxTableDecoded)
	if _, err := ldbReadBlock(data, ldbHandle{0, uint64(len(raw))}, &budget); err == nil || !strings.Contains(err.Error(), "claims more") {
		t.Errorf("err = %v, want the claim refused", err)
	}
	if budget != ldbMaxTableDecoded {
		t.Errorf("budget charged for a refused block")
	}
}

// appendTestBlockType appends a block with compression type typ and its
// trailer.
func appendTestBlockType(out, block []byte, typ byte) []byte {
	out = append(append(out, block...), typ)
	c := ldbCRC(block, []byte{typ})
	return binary.LittleEndian.AppendUint32(out, (c>>15|c<<17)+0xa282ead8)
}
