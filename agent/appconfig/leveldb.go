package appconfig

// A read-only decoder for the LevelDB files Chromium (and so Electron) keeps
// local storage in. It reads the write-ahead logs (*.log) and sorted tables
// (*.ldb, *.sst) of a database directory and keeps, per wanted key, the
// record with the highest sequence number, which is the value LevelDB itself
// would return. It does not read MANIFEST: a table still listed in the
// directory but already compacted away only holds older sequence numbers.
//
// Why not a LevelDB library: opening a database takes its LOCK file, which
// the running app holds (and creating it would write a root-owned file into
// the user's home); the library would also follow symbolic links and trust
// file sizes. The formats are small and documented by the LevelDB project:
//   - log:   https://github.com/google/leveldb/blob/main/doc/log_format.md
//   - table: https://github.com/google/leveldb/blob/main/doc/table_format.md
//   - batch: https://github.com/google/leveldb/blob/main/db/write_batch.cc
//     (sequence u64, count u32, then tag 1 = put / 0 = delete with
//     varint-length-prefixed key and value)
//   - internal key: user key + 8 bytes little endian (sequence<<8 | type),
//     https://github.com/google/leveldb/blob/main/db/dbformat.h
// Blocks are uncompressed (type 0) or Snappy (type 1), each with a masked
// CRC-32C (util/crc32c.h).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/compress/snappy"
)

const (
	ldbLogBlockSize  = 32768
	ldbLogHeaderSize = 7
	ldbFooterSize    = 48
	ldbTableMagic    = 0xdb4775248b80fb57
	// ldbMaxBlockBytes bounds one decompressed table block. LevelDB
	// writes 4 KiB blocks; a value larger than that makes a larger block,
	// never larger than the local storage quota.
	ldbMaxBlockBytes = 16 << 20
	// ldbMaxTableDecoded bounds all decompressed blocks of one table, so a
	// hostile file of many tiny blocks claiming large sizes cannot make the
	// agent allocate without end.
	ldbMaxTableDecoded = 64 << 20
	// ldbMaxSnappyRatio is more than Snappy can expand: its densest
	// element, a 2-byte copy, yields at most 11 bytes (a 3-byte copy 64).
	ldbMaxSnappyRatio = 32
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

func ldbCRC(parts ...[]byte) uint32 {
	var c uint32
	for _, p := range parts {
		c = crc32.Update(c, crc32c, p)
	}
	return c
}

func ldbUnmask(c uint32) uint32 {
	r := c - 0xa282ead8
	return r>>17 | r<<15
}

// ldbRecord is the newest record seen for one key.
type ldbRecord struct {
	seq     uint64
	deleted bool
	value   []byte
}

// ldbNewest collects the newest record of each wanted key.
type ldbNewest struct {
	want func(key []byte) bool
	recs map[string]ldbRecord
}

func newLDBNewest(want func(key []byte) bool) *ldbNewest {
	return &ldbNewest{want: want, recs: map[string]ldbRecord{}}
}

func (n *ldbNewest) add(key []byte, seq uint64, deleted bool, value []byte) {
	if !n.want(key) {
		return
	}
	if old, ok := n.recs[string(key)]; ok && old.seq >= seq {
		return
	}
	n.recs[string(key)] = ldbRecord{seq: seq, deleted: deleted, value: slices.Clone(value)}
}

// values returns the live (not deleted) values.
func (n *ldbNewest) values() map[string][]byte {
	out := make(map[string][]byte, len(n.recs))
	for k, r := range n.recs {
		if !r.deleted {
			out[k] = r.value
		}
	}
	return out
}

// parseLDBLog reads the write batches of a LevelDB log file. A record whose
// checksum does not match is skipped with the rest of its block, and a torn
// record at the end (the app was writing, or was killed) ends the file, as
// LevelDB's own recovery does; a batch inside a record whose checksum
// matched but that does not decode is an error.
func parseLDBLog(data []byte, n *ldbNewest) error {
	var pending []byte
	inFragment := false
	off := 0
	for off < len(data) {
		left := ldbLogBlockSize - off%ldbLogBlockSize
		if left < ldbLogHeaderSize {
			off += left // block trailer, zero filled
			continue
		}
		if len(data)-off < ldbLogHeaderSize {
			break // torn header at the end
		}
		h := data[off : off+ldbLogHeaderSize]
		sum := binary.LittleEndian.Uint32(h[0:4])
		size := int(binary.LittleEndian.Uint16(h[4:6]))
		typ := h[6]
		if typ == 0 && size == 0 {
			off += left // zero padding of a preallocated file
			continue
		}
		if ldbLogHeaderSize+size > left {
			// A length running past the block is corruption: drop the block.
			off += left
			inFragment = false
			continue
		}
		if off+ldbLogHeaderSize+size > len(data) {
			break // torn record at the end
		}
		payload := data[off+ldbLogHeaderSize : off+ldbLogHeaderSize+size]
		if ldbUnmask(sum) != ldbCRC([]byte{typ}, payload) {
			off += left
			inFragment = false
			continue
		}
		off += ldbLogHeaderSize + size
		switch typ {
		case 1: // full
			inFragment = false
			if err := parseLDBBatch(payload, n); err != nil {
				return err
			}
		case 2: // first
			pending = append(pending[:0], payload...)
			inFragment = true
		case 3: // middle
			if inFragment {
				pending = append(pending, payload...)
			}
		case 4: // last
			if inFragment {
				inFragment = false
				if err := parseLDBBatch(append(pending, payload...), n); err != nil {
					return err
				}
			}
		default:
			inFragment = false
		}
	}
	return nil
}

func parseLDBBatch(b []byte, n *ldbNewest) error {
	if len(b) < 12 {
		return errors.New("write batch shorter than its header")
	}
	seq := binary.LittleEndian.Uint64(b[0:8])
	count := binary.LittleEndian.Uint32(b[8:12])
	p := b[12:]
	for i := uint32(0); i < count; i++ {
		if len(p) == 0 {
			return fmt.Errorf("write batch ends after %d of %d records", i, count)
		}
		tag := p[0]
		p = p[1:]
		key, rest, ok := ldbLengthPrefixed(p)
		if !ok {
			return errors.New("write batch record with a bad key length")
		}
		p = rest
		switch tag {
		case 1:
			value, rest, ok := ldbLengthPrefixed(p)
			if !ok {
				return errors.New("write batch record with a bad value length")
			}
			p = rest
			n.add(key, seq+uint64(i), false, value)
		case 0:
			n.add(key, seq+uint64(i), true, nil)
		default:
			return fmt.Errorf("write batch record of unknown type %d", tag)
		}
	}
	return nil
}

func ldbLengthPrefixed(p []byte) (field, rest []byte, ok bool) {
	l, k := binary.Uvarint(p)
	if k <= 0 || l > uint64(len(p)-k) {
		return nil, nil, false
	}
	return p[k : k+int(l)], p[k+int(l):], true
}

type ldbHandle struct{ off, size uint64 }

func ldbDecodeHandle(p []byte) (ldbHandle, int, bool) {
	off, a := binary.Uvarint(p)
	if a <= 0 {
		return ldbHandle{}, 0, false
	}
	size, b := binary.Uvarint(p[a:])
	if b <= 0 {
		return ldbHandle{}, 0, false
	}
	return ldbHandle{off: off, size: size}, a + b, true
}

// parseLDBTable reads every entry of a LevelDB table file.
func parseLDBTable(data []byte, n *ldbNewest) error {
	if len(data) < ldbFooterSize {
		return errors.New("table shorter than its footer")
	}
	footer := data[len(data)-ldbFooterSize:]
	if binary.LittleEndian.Uint64(footer[40:]) != ldbTableMagic {
		return errors.New("table footer has no LevelDB magic number")
	}
	_, used, ok := ldbDecodeHandle(footer) // metaindex: filters only
	if !ok {
		return errors.New("table footer has a bad metaindex handle")
	}
	ih, _, ok := ldbDecodeHandle(footer[used:])
	if !ok {
		return errors.New("table footer has a bad index handle")
	}
	budget := int64(ldbMaxTableDecoded)
	index, err := ldbReadBlock(data, ih, &budget)
	if err != nil {
		return fmt.Errorf("index block: %w", err)
	}
	return ldbIterateBlock(index, func(_, v []byte) error {
		h, _, ok := ldbDecodeHandle(v)
		if !ok {
			return errors.New("index entry has a bad block handle")
		}
		block, err := ldbReadBlock(data, h, &budget)
		if err != nil {
			return fmt.Errorf("data block at %d: %w", h.off, err)
		}
		return ldbIterateBlock(block, func(ikey, value []byte) error {
			if len(ikey) < 8 {
				return errors.New("internal key shorter than its trailer")
			}
			trailer := binary.LittleEndian.Uint64(ikey[len(ikey)-8:])
			switch trailer & 0xff {
			case 1:
				n.add(ikey[:len(ikey)-8], trailer>>8, false, value)
			case 0:
				n.add(ikey[:len(ikey)-8], trailer>>8, true, nil)
			default:
				return fmt.Errorf("internal key of unknown type %d", trailer&0xff)
			}
			return nil
		})
	})
}

// ldbReadBlock checks and, if compressed, decompresses one block, charging
// the decompressed size to budget.
func ldbReadBlock(data []byte, h ldbHandle, budget *int64) ([]byte, error) {
	total := uint64(len(data))
	if h.off > total || h.size > total || h.off+h.size > total || total-(h.off+h.size) < 5 {
		return nil, errors.New("block handle outside the file")
	}
	end := h.off + h.size
	raw := data[h.off:end]
	typ := data[end]
	sum := binary.LittleEndian.Uint32(data[end+1 : end+5])
	if ldbUnmask(sum) != ldbCRC(raw, []byte{typ}) {
		return nil, errors.New("block checksum mismatch")
	}
	switch typ {
	case 0:
		return raw, nil
	case 1:
		size, err := snappy.DecodedLen(raw)
		if err != nil {
			return nil, fmt.Errorf("snappy block: %w", err)
		}
		if size > ldbMaxBlockBytes || size > ldbMaxSnappyRatio*len(raw)+ldbMaxSnappyRatio {
			return nil, errors.New("snappy block claims more than the bound or than it can hold")
		}
		if *budget -= int64(size); *budget < 0 {
			return nil, errors.New("table decompresses to more than the bound")
		}
		b, err := snappy.Decode(nil, raw)
		if err != nil {
			return nil, fmt.Errorf("snappy block: %w", err)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("block compression type %d not supported", typ)
	}
}

// ldbIterateBlock calls fn for each entry of a table block (keys are prefix
// compressed against the previous key; a restart array closes the block).
func ldbIterateBlock(b []byte, fn func(key, value []byte) error) error {
	if len(b) < 4 {
		return errors.New("block shorter than its restart count")
	}
	restarts := uint64(binary.LittleEndian.Uint32(b[len(b)-4:]))
	if restarts*4 > uint64(len(b)-4) {
		return errors.New("block restart array larger than the block")
	}
	p := b[:uint64(len(b)-4)-restarts*4]
	var key []byte
	for len(p) > 0 {
		var hdr [3]uint64
		for i := range hdr {
			v, k := binary.Uvarint(p)
			if k <= 0 {
				return errors.New("block entry with a bad length")
			}
			hdr[i] = v
			p = p[k:]
		}
		shared, unshared, vlen := hdr[0], hdr[1], hdr[2]
		if shared > uint64(len(key)) || unshared > uint64(len(p)) || vlen > uint64(len(p))-unshared {
			return errors.New("block entry runs past the block")
		}
		key = append(key[:shared], p[:unshared]...)
		value := p[unshared : unshared+vlen]
		p = p[unshared+vlen:]
		if err := fn(key, value); err != nil {
			return err
		}
	}
	return nil
}

// ldbFileKind tells a log from a table by LevelDB's file names
// (NNNNNN.log, NNNNNN.ldb, or NNNNNN.sst from older versions); other files
// (CURRENT, LOCK, LOG, MANIFEST-*) are not read.
func ldbFileKind(name string) (num uint64, table, ok bool) {
	base, ext, found := strings.Cut(name, ".")
	if !found {
		return 0, false, false
	}
	num, err := strconv.ParseUint(base, 10, 64)
	if err != nil {
		return 0, false, false
	}
	switch ext {
	case "log":
		return num, false, true
	case "ldb", "sst":
		return num, true, true
	}
	return 0, false, false
}

// readLevelDB reads the newest live values of the wanted keys from a LevelDB
// directory in a user's home. kind names the data for errors.
func readLevelDB(dir string, uid int, kind string, want func(key []byte) bool) (map[string][]byte, error) {
	d, err := openUserDir(dir, uid)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.names()
	if err != nil {
		return nil, err
	}
	type file struct {
		name  string
		num   uint64
		table bool
	}
	var files []file
	for _, name := range names {
		if num, table, ok := ldbFileKind(name); ok {
			files = append(files, file{name, num, table})
		}
	}
	if len(files) > maxLevelDBFiles {
		return nil, fmt.Errorf("%s: %d LevelDB files, more than the bound of %d", kind, len(files), maxLevelDBFiles)
	}
	slices.SortFunc(files, func(a, b file) int {
		switch {
		case a.num < b.num:
			return -1
		case a.num > b.num:
			return 1
		}
		return 0
	})
	newest := newLDBNewest(want)
	var total int64
	for _, f := range files {
		data, err := d.readFile(f.name, maxLevelDBFileBytes)
		if errors.Is(err, fs.ErrNotExist) {
			continue // compacted away since the listing; its records live on in a newer file
		}
		if err != nil {
			return nil, err
		}
		total += int64(len(data))
		if total > maxLevelDBTotalBytes {
			return nil, fmt.Errorf("%s: LevelDB files larger than the bound of %d bytes", kind, maxLevelDBTotalBytes)
		}
		if f.table {
			err = parseLDBTable(data, newest)
		} else {
			err = parseLDBLog(data, newest)
		}
		if err != nil {
			return nil, &FormatError{Kind: kind, Field: "LevelDB file " + f.name, Err: err}
		}
	}
	return newest.values(), nil
}
