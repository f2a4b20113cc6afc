package browsersite

// A minimal read-only reader of the SQLite database file format, enough to
// read one rowid table (Firefox's moz_perms) of a database and its
// write-ahead log.
//
// Why it is written by hand rather than through a SQLite library: the
// agent runs on every managed laptop and must stay nearly invisible, and
// the pure-Go SQLite (modernc.org/sqlite) added about 4 MB to the agent's
// binary and 1.6 MiB to its resident memory at start-up (package
// initialisation) on every machine, to read one small table. Reading one
// table, read-only, needs only the parts of the format below: no SQL, no
// indexes, no locking, no writing. The server keeps modernc.org/sqlite, and
// the tests check this reader against it.
//
// Everything follows "Database File Format",
// https://www.sqlite.org/fileformat2.html; comments cite its sections as §.
// The file is the user's to write and so is hostile: every offset and
// length is checked, a page is visited at most once per walk (a cycle is an
// error), trees are at most maxBtreeDepth deep, and errors never quote the
// file's content.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// errMalformed is the error of a database that breaks the format; the
// words are SQLite's own for the same condition.
var errMalformed = errors.New("database disk image is malformed")

// errNotADatabase is the error of a file without a valid header; SQLite's
// words.
var errNotADatabase = errors.New("file is not a database")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)
}

// maxBtreeDepth bounds the depth of a b-tree: SQLite itself refuses
// deeper trees (BTCURSOR_MAX_DEPTH is 20 in its btreeInt.h), and with a
// minimum page of 512 bytes a tree of that depth holds far more rows than
// any file within maxFirefoxDBBytes.
const maxBtreeDepth = 20

// Text encodings of the database header (§1.3.13, the 4-byte integer at
// offset 56).
const (
	encUTF8    = 1
	encUTF16le = 2
	encUTF16be = 3
)

// sqliteDB is a database image with its committed write-ahead log applied.
type sqliteDB struct {
	file     []byte
	pageSize int
	usable   int // page size less the reserved bytes at each page's end (§1.3.4)
	encoding byte
	nPages   uint32            // pages in the database (§1.3.9, or the last commit frame's size, §4.1)
	wal      map[uint32][]byte // page number -> newest committed image in the log
}

// openSQLite reads a database's header and applies its write-ahead log
// (nil when none). An empty file is an empty database, as for SQLite, which
// also ignores (deletes) a log beside an empty file.
func openSQLite(file, wal []byte) (*sqliteDB, error) {
	if len(file) == 0 {
		return nil, nil
	}
	// §1.3: the 100-byte header.
	if len(file) < 100 || string(file[:16]) != "SQLite format 3\x00" {
		return nil, errNotADatabase
	}
	pageSize, ok := decodePageSize(binary.BigEndian.Uint16(file[16:18]))
	if !ok {
		return nil, errNotADatabase
	}
	// The database's size is the file's in whole pages (the header's own
	// count, §1.3.9, may be stale); a page the header or a tree needs
	// beyond it is an error when it is read.
	d := &sqliteDB{file: file, pageSize: pageSize, nPages: uint32(len(file) / pageSize)}
	if d.nPages == 0 {
		return nil, malformed("the file is shorter than one page")
	}
	if wal != nil {
		d.applyWAL(wal)
	}
	// The header as the newest page 1 has it: the log may have rewritten it.
	p1, err := d.page(1)
	if err != nil {
		return nil, err
	}
	if string(p1[:16]) != "SQLite format 3\x00" {
		return nil, errNotADatabase
	}
	if ps, ok := decodePageSize(binary.BigEndian.Uint16(p1[16:18])); !ok || ps != pageSize {
		return nil, malformed("header: page size changed in the write-ahead log")
	}
	// §1.3.9: the header's size of the database in pages is used when it
	// is valid (not zero, and written by the same change as the change
	// counter at offset 24); like SQLite, a database larger than its file
	// (and log) is refused as a truncated copy.
	if size := binary.BigEndian.Uint32(p1[28:32]); size != 0 && string(p1[24:28]) == string(p1[92:96]) {
		if size > d.nPages {
			return nil, malformed("header: %d pages, the file has %d", size, d.nPages)
		}
		d.nPages = size
	}
	// §1.3.4: reserved bytes; the usable size must be at least 480.
	d.usable = pageSize - int(p1[20])
	if d.usable < 480 {
		return nil, malformed("header: %d reserved bytes per page", p1[20])
	}
	// §1.3.5–1.3.7: payload fractions, which must be 64, 32 and 32.
	if p1[21] != 64 || p1[22] != 32 || p1[23] != 32 {
		return nil, malformed("header: payload fractions")
	}
	switch enc := binary.BigEndian.Uint32(p1[56:60]); enc {
	case encUTF8, encUTF16le, encUTF16be:
		d.encoding = byte(enc)
	default:
		return nil, malformed("header: text encoding %d", enc)
	}
	return d, nil
}

// decodePageSize reads offset 16 of the header (§1.3.2): a power of two
// from 512 to 32768, or 1 for 65536.
func decodePageSize(v uint16) (int, bool) {
	if v == 1 {
		return 65536, true
	}
	if v < 512 || v&(v-1) != 0 {
		return 0, false
	}
	return int(v), true
}

// applyWAL keeps, for each page, its image in the newest valid frame up to
// the last commit frame of the log (§4.1, §4.3). A log that does not match
// the database (its header's magic, version, page size or checksum) is
// ignored, as SQLite ignores it; the first frame that is invalid (salts or
// checksum) ends the log.
func (d *sqliteDB) applyWAL(wal []byte) {
	const hdr, frameHdr = 32, 24
	if len(wal) < hdr {
		return
	}
	magic := binary.BigEndian.Uint32(wal[0:4])
	var order binary.ByteOrder
	switch magic {
	case 0x377f0682:
		order = binary.LittleEndian
	case 0x377f0683:
		order = binary.BigEndian
	default:
		return
	}
	if binary.BigEndian.Uint32(wal[4:8]) != 3007000 {
		return
	}
	ps := binary.BigEndian.Uint32(wal[8:12])
	if ps != uint32(d.pageSize) {
		return
	}
	s0, s1 := walChecksum(order, wal[:24], 0, 0)
	if s0 != binary.BigEndian.Uint32(wal[24:28]) || s1 != binary.BigEndian.Uint32(wal[28:32]) {
		return
	}
	salt1, salt2 := wal[16:20], wal[20:24]
	pending := map[uint32][]byte{}
	committed := map[uint32][]byte{}
	var dbSize uint32
	for off := hdr; off+frameHdr+d.pageSize <= len(wal); off += frameHdr + d.pageSize {
		fh := wal[off : off+frameHdr]
		data := wal[off+frameHdr : off+frameHdr+d.pageSize]
		if string(fh[8:12]) != string(salt1) || string(fh[12:16]) != string(salt2) {
			break
		}
		s0, s1 = walChecksum(order, fh[:8], s0, s1)
		s0, s1 = walChecksum(order, data, s0, s1)
		if s0 != binary.BigEndian.Uint32(fh[16:20]) || s1 != binary.BigEndian.Uint32(fh[20:24]) {
			break
		}
		pgno := binary.BigEndian.Uint32(fh[0:4])
		if pgno == 0 {
			break
		}
		pending[pgno] = data
		if commit := binary.BigEndian.Uint32(fh[4:8]); commit != 0 {
			for p, img := range pending {
				committed[p] = img
			}
			clear(pending)
			dbSize = commit
		}
	}
	if dbSize == 0 {
		return
	}
	d.wal = committed
	d.nPages = dbSize
}

// walChecksum continues the log's checksum over b (§4.1): b is read as
// 32-bit words in the log's byte order, two at a time.
func walChecksum(order binary.ByteOrder, b []byte, s0, s1 uint32) (uint32, uint32) {
	for i := 0; i+8 <= len(b); i += 8 {
		s0 += order.Uint32(b[i:]) + s1
		s1 += order.Uint32(b[i+4:]) + s0
	}
	return s0, s1
}

// page returns page n (numbered from 1), from the log when it has it.
func (d *sqliteDB) page(n uint32) ([]byte, error) {
	if n == 0 || n > d.nPages {
		return nil, malformed("page %d is outside the database's %d pages", n, d.nPages)
	}
	if p, ok := d.wal[n]; ok {
		return p, nil
	}
	off := int64(n-1) * int64(d.pageSize)
	if off+int64(d.pageSize) > int64(len(d.file)) {
		return nil, malformed("page %d is beyond the end of the file", n)
	}
	return d.file[off : off+int64(d.pageSize)], nil
}

// tableWalk walks one table b-tree (§1.6) in rowid order.
type tableWalk struct {
	db      *sqliteDB
	ctx     context.Context
	visited map[uint32]bool
	// budget is the number of bytes cells may still take. In a
	// well-formed database every byte of a page belongs to at most one
	// cell, so a walk reads at most the database's size in cells and
	// payload; cell pointers that share their cells (thousands of
	// pointers to one large cell) would otherwise make a small file cost
	// gigabytes of work.
	budget int64
	fn     func(rowid int64, payload []byte) error
}

// spend takes n bytes off the walk's budget.
func (w *tableWalk) spend(n uint32, n64 int64) error {
	w.budget -= n64
	if w.budget < 0 {
		return malformed("page %d: cells overlap (more cell bytes than the database has)", n)
	}
	return nil
}

// walkTable calls fn with each row's rowid and record (§2.1) of the table
// b-tree rooted at root, in rowid order. A page reached twice (a cycle, or
// two parents) is an error, so no walk visits more pages than the database
// has; ctx is checked at every page.
func (d *sqliteDB) walkTable(ctx context.Context, root uint32, fn func(rowid int64, payload []byte) error) error {
	w := &tableWalk{db: d, ctx: ctx, visited: map[uint32]bool{}, fn: fn,
		budget: int64(d.nPages) * int64(d.usable)}
	return w.walk(root, 0)
}

func (w *tableWalk) visit(n uint32) ([]byte, error) {
	if err := w.ctx.Err(); err != nil {
		return nil, err
	}
	if w.visited[n] {
		return nil, malformed("page %d is reached twice", n)
	}
	w.visited[n] = true
	return w.db.page(n)
}

func (w *tableWalk) walk(n uint32, depth int) error {
	if depth >= maxBtreeDepth {
		return malformed("b-tree deeper than %d pages at page %d", maxBtreeDepth, n)
	}
	p, err := w.visit(n)
	if err != nil {
		return err
	}
	// §1.6: the b-tree page header follows the database header on page 1.
	h := 0
	if n == 1 {
		h = 100
	}
	p = p[:w.db.usable]
	if h+8 > len(p) {
		return malformed("page %d: no room for its header", n)
	}
	kind := p[h]
	hdrLen := 8
	switch kind {
	case 0x0d: // leaf table b-tree page
	case 0x05: // interior table b-tree page
		hdrLen = 12
	default:
		return malformed("page %d: type %#x is not a table b-tree page", n, kind)
	}
	nCells := int(binary.BigEndian.Uint16(p[h+3:]))
	ptrs := h + hdrLen
	if ptrs+2*nCells > len(p) {
		return malformed("page %d: %d cells do not fit", n, nCells)
	}
	for i := range nCells {
		off := int(binary.BigEndian.Uint16(p[ptrs+2*i:]))
		if off < ptrs+2*nCells || off >= len(p) {
			return malformed("page %d: cell %d points outside the page", n, i)
		}
		cell := p[off:]
		if kind == 0x05 {
			// §1.6: a 4-byte left child page number, then the key (a
			// varint rowid), not needed to read every row.
			_, k := readVarint(cell[min(4, len(cell)):])
			if len(cell) < 4 || k == 0 {
				return malformed("page %d: cell %d is cut short", n, i)
			}
			if err := w.spend(n, int64(4+k)); err != nil {
				return err
			}
			if err := w.walk(binary.BigEndian.Uint32(cell), depth+1); err != nil {
				return err
			}
			continue
		}
		if err := w.leafCell(n, i, cell); err != nil {
			return err
		}
	}
	if kind == 0x05 {
		return w.walk(binary.BigEndian.Uint32(p[h+8:]), depth+1)
	}
	return nil
}

// leafCell reads one cell of a leaf table page (§1.6): the payload's size
// and the rowid as varints, the payload's first bytes and, when it does
// not fit on the page, the number of its first overflow page (§1.7).
func (w *tableWalk) leafCell(n uint32, i int, cell []byte) error {
	size, k := readVarint(cell)
	if k == 0 {
		return malformed("page %d: cell %d is cut short", n, i)
	}
	cell = cell[k:]
	rowid, k2 := readVarint(cell)
	if k2 == 0 {
		return malformed("page %d: cell %d is cut short", n, i)
	}
	cell = cell[k2:]
	u := uint64(w.db.usable)
	// A payload larger than every page of the database together cannot
	// be there; refusing it also bounds the allocation below.
	if size > uint64(w.db.nPages)*u {
		return malformed("page %d: cell %d: payload larger than the database", n, i)
	}
	local := localPayload(size, u)
	if uint64(len(cell)) < local {
		return malformed("page %d: cell %d: payload runs past the page", n, i)
	}
	if local == size {
		if err := w.spend(n, int64(k+k2)+int64(local)); err != nil {
			return err
		}
		return w.fn(int64(rowid), cell[:local])
	}
	if err := w.spend(n, int64(k+k2)+int64(local)+4); err != nil {
		return err
	}
	if uint64(len(cell)) < local+4 {
		return malformed("page %d: cell %d: overflow page number runs past the page", n, i)
	}
	payload := make([]byte, 0, size)
	payload = append(payload, cell[:local]...)
	next := binary.BigEndian.Uint32(cell[local:])
	// §1.7: each overflow page is the next page's number, then up to
	// usable-4 bytes of the payload.
	for uint64(len(payload)) < size {
		if next == 0 {
			return malformed("page %d: cell %d: overflow chain ends early", n, i)
		}
		op, err := w.visit(next)
		if err != nil {
			return err
		}
		take := min(size-uint64(len(payload)), u-4)
		if err := w.spend(next, int64(take)); err != nil {
			return err
		}
		payload = append(payload, op[4:4+take]...)
		next = binary.BigEndian.Uint32(op)
	}
	return w.fn(int64(rowid), payload)
}

// localPayload is how many bytes of a table leaf cell's payload of size p
// are on the page itself, for usable page size u (§1.6, the formula under
// "Cell Payload Overflow Pages": X = U-35, M = ((U-12)*32/255)-23,
// K = M+((P-M)%(U-4))).
func localPayload(p, u uint64) uint64 {
	x := u - 35
	if p <= x {
		return p
	}
	m := ((u-12)*32)/255 - 23
	k := m + (p-m)%(u-4)
	if k <= x {
		return k
	}
	return m
}

// readVarint decodes a varint (§1.6 "A variable-length integer"): one to
// nine bytes, big-endian, seven bits from each of the first eight bytes
// with the high bit set when another follows, all eight bits of a ninth.
// It returns the value and its length, 0 when b ends first.
func readVarint(b []byte) (uint64, int) {
	var v uint64
	for i := range 9 {
		if i >= len(b) {
			return 0, 0
		}
		if i == 8 {
			return v<<8 | uint64(b[i]), 9
		}
		v = v<<7 | uint64(b[i]&0x7f)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0 // not reached
}
