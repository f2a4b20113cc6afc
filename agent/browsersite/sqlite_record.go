package browsersite

// Records of the SQLite file format (§2.1): the values of one row, as the
// table b-tree walk (sqlitefile.go) hands them over.

import (
	"encoding/binary"
	"math"
	"unicode/utf16"
)

// Kinds of sqlValue, SQLite's storage classes (§2.1).
const (
	sqlNull = iota
	sqlInt
	sqlFloat
	sqlText
	sqlBlob
)

// sqlValue is one value of a record. Text is UTF-8 whatever the
// database's encoding.
type sqlValue struct {
	kind int
	i    int64
	f    float64
	s    string // text or blob
}

// decodeRecord decodes the first max values of a record (§2.1): a header
// of its size and serial types as varints, then the values. Text in a
// UTF-16 database is converted to UTF-8.
func decodeRecord(rec []byte, encoding byte, max int) ([]sqlValue, error) {
	hdrSize, k := readVarint(rec)
	if k == 0 || hdrSize < uint64(k) || hdrSize > uint64(len(rec)) {
		return nil, malformed("record header size")
	}
	types := rec[k:hdrSize]
	body := rec[hdrSize:]
	var vals []sqlValue
	for len(types) > 0 && len(vals) < max {
		st, k := readVarint(types)
		if k == 0 {
			return nil, malformed("record header cut short")
		}
		types = types[k:]
		var n uint64
		switch {
		case st <= 4:
			n = st
		case st == 5:
			n = 6
		case st == 6 || st == 7:
			n = 8
		case st == 8 || st == 9 || st == 0:
			n = 0
		case st == 10 || st == 11:
			return nil, malformed("record: reserved serial type")
		default:
			n = (st - 12) / 2
		}
		if n > uint64(len(body)) {
			return nil, malformed("record: value runs past the record")
		}
		b := body[:n]
		body = body[n:]
		var v sqlValue
		switch {
		case st == 0:
			v.kind = sqlNull
		case st <= 6:
			// Big-endian two's complement of 1, 2, 3, 4, 6 or 8 bytes.
			var x int64
			if len(b) > 0 && b[0]&0x80 != 0 {
				x = -1
			}
			for _, c := range b {
				x = x<<8 | int64(c)
			}
			v = sqlValue{kind: sqlInt, i: x}
		case st == 7:
			v = sqlValue{kind: sqlFloat, f: math.Float64frombits(binary.BigEndian.Uint64(b))}
		case st == 8 || st == 9:
			v = sqlValue{kind: sqlInt, i: int64(st - 8)}
		case st%2 == 0:
			v = sqlValue{kind: sqlBlob, s: string(b)}
		default:
			v = sqlValue{kind: sqlText, s: decodeText(b, encoding)}
		}
		vals = append(vals, v)
	}
	return vals, nil
}

// decodeText converts text in the database's encoding to UTF-8.
func decodeText(b []byte, encoding byte) string {
	if encoding == encUTF8 {
		return string(b)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if encoding == encUTF16be {
		order = binary.BigEndian
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = order.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
