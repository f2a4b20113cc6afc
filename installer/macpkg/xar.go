package macpkg

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"time"
)

// A flat package is a xar archive. It is written here by hand: there is
// no maintained Go xar writer (the Go xar code in the wild reads only), and
// Debian ships no xar tool. The layout is a 28-byte big-endian header, the
// zlib-compressed XML table of contents (TOC), then the heap. The heap
// starts with the checksum of the compressed TOC (SHA-1, the algorithm
// pkgbuild uses and every Installer reads), followed by each file's data,
// zlib-compressed ("application/x-gzip" in xar's naming) or stored
// ("application/octet-stream"). Every file records the checksum of its
// data as stored (archived) and as extracted.

const (
	xarMagic       = 0x78617221 // "xar!"
	xarHeaderSize  = 28
	xarVersion     = 1
	xarCksumSHA1   = 1
	xarCksumSHA256 = 3 // Apple's numbering; header stays 28 bytes

	encZlib   = "application/x-gzip"
	encStored = "application/octet-stream"
)

// xarFile is a file or directory to put in a xar archive.
type xarFile struct {
	Name     string
	Dir      bool
	Mode     uint32 // permission bits
	Data     []byte
	Compress bool // zlib the data in the heap
	Children []xarFile
}

type xarTOCDoc struct {
	XMLName xml.Name `xml:"xar"`
	TOC     xarTOC   `xml:"toc"`
}

type xarTOC struct {
	CreationTime string         `xml:"creation-time"`
	Checksum     xarChecksumRef `xml:"checksum"`
	Files        []xarTOCFile   `xml:"file"`
}

type xarChecksumRef struct {
	Style  string `xml:"style,attr"`
	Offset uint64 `xml:"offset"`
	Size   uint64 `xml:"size"`
}

type xarTOCFile struct {
	ID    string       `xml:"id,attr"`
	Data  *xarData     `xml:"data,omitempty"`
	Name  string       `xml:"name"`
	Type  string       `xml:"type"`
	Mode  string       `xml:"mode"`
	UID   int          `xml:"uid"`
	GID   int          `xml:"gid"`
	User  string       `xml:"user"`
	Group string       `xml:"group"`
	MTime string       `xml:"mtime"`
	CTime string       `xml:"ctime"`
	Files []xarTOCFile `xml:"file"`
}

type xarData struct {
	Length            uint64      `xml:"length"`
	Offset            uint64      `xml:"offset"`
	Size              uint64      `xml:"size"`
	Encoding          xarEncoding `xml:"encoding"`
	ArchivedChecksum  xarHash     `xml:"archived-checksum"`
	ExtractedChecksum xarHash     `xml:"extracted-checksum"`
}

type xarEncoding struct {
	Style string `xml:"style,attr"`
}

type xarHash struct {
	Style string `xml:"style,attr"`
	Value string `xml:",chardata"`
}

// writeXAR writes files as a xar archive with SHA-1 checksums.
func writeXAR(w io.Writer, files []xarFile, mtime time.Time) error {
	var heap bytes.Buffer
	heap.Write(make([]byte, sha1.Size)) // the TOC checksum, filled in below
	ts := mtime.UTC().Format("2006-01-02T15:04:05Z")
	id := 0
	var conv func([]xarFile) ([]xarTOCFile, error)
	conv = func(fs []xarFile) ([]xarTOCFile, error) {
		var out []xarTOCFile
		for _, f := range fs {
			id++
			t := xarTOCFile{
				ID: strconv.Itoa(id), Name: f.Name, Type: "file",
				Mode: fmt.Sprintf("0%o", f.Mode&0o7777), User: "root", Group: "wheel",
				MTime: ts, CTime: ts,
			}
			if f.Dir {
				t.Type = "directory"
				kids, err := conv(f.Children)
				if err != nil {
					return nil, err
				}
				t.Files = kids
			} else {
				stored, enc := f.Data, encStored
				if f.Compress {
					var z bytes.Buffer
					zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
					if err != nil {
						return nil, err
					}
					if _, err := zw.Write(f.Data); err != nil {
						return nil, fmt.Errorf("compress %s: %w", f.Name, err)
					}
					if err := zw.Close(); err != nil {
						return nil, fmt.Errorf("compress %s: %w", f.Name, err)
					}
					stored, enc = z.Bytes(), encZlib
				}
				a, e := sha1.Sum(stored), sha1.Sum(f.Data)
				t.Data = &xarData{
					Length:            uint64(len(stored)),
					Offset:            uint64(heap.Len()),
					Size:              uint64(len(f.Data)),
					Encoding:          xarEncoding{enc},
					ArchivedChecksum:  xarHash{"sha1", hex.EncodeToString(a[:])},
					ExtractedChecksum: xarHash{"sha1", hex.EncodeToString(e[:])},
				}
				heap.Write(stored)
			}
			out = append(out, t)
		}
		return out, nil
	}
	tocFiles, err := conv(files)
	if err != nil {
		return err
	}
	doc := xarTOCDoc{TOC: xarTOC{
		CreationTime: ts,
		Checksum:     xarChecksumRef{Style: "sha1", Offset: 0, Size: sha1.Size},
		Files:        tocFiles,
	}}
	toc, err := xml.MarshalIndent(doc, "", " ")
	if err != nil {
		return fmt.Errorf("xar table of contents: %w", err)
	}
	toc = append([]byte(xml.Header), toc...)
	var ztoc bytes.Buffer
	zw, err := zlib.NewWriterLevel(&ztoc, zlib.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(toc); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	sum := sha1.Sum(ztoc.Bytes())
	copy(heap.Bytes(), sum[:])

	hdr := make([]byte, 0, xarHeaderSize)
	hdr = binary.BigEndian.AppendUint32(hdr, xarMagic)
	hdr = binary.BigEndian.AppendUint16(hdr, xarHeaderSize)
	hdr = binary.BigEndian.AppendUint16(hdr, xarVersion)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(ztoc.Len()))
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(len(toc)))
	hdr = binary.BigEndian.AppendUint32(hdr, xarCksumSHA1)
	for _, b := range [][]byte{hdr, ztoc.Bytes(), heap.Bytes()} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// Limits of readXAR: archives from elsewhere are untrusted.
const (
	maxXARTOC     = 16 << 20  // uncompressed table of contents
	maxXARFiles   = 10000     // files and directories
	maxXARExtract = 512 << 20 // one file's extracted data
)

// xarEntry is a file read back from a xar archive, its checksums verified.
type xarEntry struct {
	Path string // "dir/name"
	Dir  bool
	Mode uint32
	Data []byte // extracted
	// Encoding is the data's encoding in the heap.
	Encoding string
}

// xarArchive is a parsed xar archive.
type xarArchive struct {
	TOC     []byte // the XML table of contents
	Entries []xarEntry
}

// File returns the entry at path, or nil.
func (a *xarArchive) File(path string) *xarEntry {
	for i := range a.Entries {
		if a.Entries[i].Path == path {
			return &a.Entries[i]
		}
	}
	return nil
}

// readXAR parses a xar archive and checks the TOC checksum and every
// file's archived and extracted checksums and sizes.
func readXAR(b []byte) (*xarArchive, error) {
	if len(b) < xarHeaderSize {
		return nil, errors.New("xar: shorter than its header")
	}
	be := binary.BigEndian
	if be.Uint32(b) != xarMagic {
		return nil, errors.New("xar: bad magic (not a xar archive)")
	}
	hsize := int(be.Uint16(b[4:]))
	if hsize < xarHeaderSize || hsize > len(b) {
		return nil, fmt.Errorf("xar: header size %d", hsize)
	}
	if v := be.Uint16(b[6:]); v != xarVersion {
		return nil, fmt.Errorf("xar: version %d, want %d", v, xarVersion)
	}
	zlen, tlen := be.Uint64(b[8:]), be.Uint64(b[16:])
	alg := be.Uint32(b[24:])
	if tlen > maxXARTOC {
		return nil, fmt.Errorf("xar: table of contents of %d bytes, more than %d", tlen, maxXARTOC)
	}
	if zlen > uint64(len(b)-hsize) {
		return nil, fmt.Errorf("xar: compressed table of contents of %d bytes, %d left", zlen, len(b)-hsize)
	}
	ztoc := b[hsize : hsize+int(zlen)]
	heap := b[hsize+int(zlen):]
	toc, err := inflate(ztoc, tlen)
	if err != nil {
		return nil, fmt.Errorf("xar: table of contents: %w", err)
	}
	var doc xarTOCDoc
	if err := xml.Unmarshal(toc, &doc); err != nil {
		return nil, fmt.Errorf("xar: table of contents: %w", err)
	}
	newHash, err := xarHashFunc(doc.TOC.Checksum.Style)
	if err != nil {
		return nil, fmt.Errorf("xar: table of contents checksum: %w", err)
	}
	if want := map[uint32]string{xarCksumSHA1: "sha1", xarCksumSHA256: "sha256"}[alg]; want != strings.ToLower(doc.TOC.Checksum.Style) {
		return nil, fmt.Errorf("xar: header checksum algorithm %d, table of contents says %q", alg, doc.TOC.Checksum.Style)
	}
	h := newHash()
	h.Write(ztoc)
	sum := h.Sum(nil)
	ck := doc.TOC.Checksum
	if ck.Size != uint64(len(sum)) || ck.Offset > uint64(len(heap)) || uint64(len(heap))-ck.Offset < ck.Size {
		return nil, fmt.Errorf("xar: table of contents checksum at %d+%d outside the heap of %d bytes", ck.Offset, ck.Size, len(heap))
	}
	if !bytes.Equal(heap[ck.Offset:ck.Offset+ck.Size], sum) {
		return nil, errors.New("xar: table of contents checksum mismatch")
	}
	a := &xarArchive{TOC: toc}
	var walk func(prefix string, fs []xarTOCFile, depth int) error
	walk = func(prefix string, fs []xarTOCFile, depth int) error {
		if depth > 64 {
			return errors.New("xar: directories nested too deep")
		}
		for _, f := range fs {
			if len(a.Entries) >= maxXARFiles {
				return fmt.Errorf("xar: more than %d files", maxXARFiles)
			}
			if f.Name == "" || f.Name == "." || f.Name == ".." || strings.ContainsAny(f.Name, "/\x00") {
				return fmt.Errorf("xar: bad file name %q in %q", f.Name, prefix)
			}
			mode, err := strconv.ParseUint(f.Mode, 8, 32)
			if err != nil && f.Mode != "" {
				return fmt.Errorf("xar: %s%s: bad mode %q", prefix, f.Name, f.Mode)
			}
			e := xarEntry{Path: prefix + f.Name, Mode: uint32(mode)}
			switch f.Type {
			case "directory":
				e.Dir = true
				a.Entries = append(a.Entries, e)
				if err := walk(e.Path+"/", f.Files, depth+1); err != nil {
					return err
				}
				continue
			case "file":
			default:
				return fmt.Errorf("xar: %s: type %q not supported", e.Path, f.Type)
			}
			if len(f.Files) != 0 {
				return fmt.Errorf("xar: %s: a file with children", e.Path)
			}
			if f.Data != nil {
				data, err := xarExtract(heap, f.Data)
				if err != nil {
					return fmt.Errorf("xar: %s: %w", e.Path, err)
				}
				e.Data, e.Encoding = data, f.Data.Encoding.Style
			}
			a.Entries = append(a.Entries, e)
		}
		return nil
	}
	if err := walk("", doc.TOC.Files, 0); err != nil {
		return nil, err
	}
	return a, nil
}

func xarExtract(heap []byte, d *xarData) ([]byte, error) {
	if d.Offset > uint64(len(heap)) || uint64(len(heap))-d.Offset < d.Length {
		return nil, fmt.Errorf("data at %d+%d outside the heap of %d bytes", d.Offset, d.Length, len(heap))
	}
	if d.Size > maxXARExtract {
		return nil, fmt.Errorf("%d bytes extracted, more than %d", d.Size, maxXARExtract)
	}
	stored := heap[d.Offset : d.Offset+d.Length]
	if err := xarCheck(stored, d.ArchivedChecksum, "archived"); err != nil {
		return nil, err
	}
	var data []byte
	switch d.Encoding.Style {
	case encStored, "":
		data = stored
		if d.Size != d.Length {
			return nil, fmt.Errorf("stored data of %d bytes, size says %d", d.Length, d.Size)
		}
	case encZlib:
		var err error
		if data, err = inflate(stored, d.Size); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("encoding %q not supported", d.Encoding.Style)
	}
	if err := xarCheck(data, d.ExtractedChecksum, "extracted"); err != nil {
		return nil, err
	}
	return data, nil
}

func xarCheck(data []byte, want xarHash, what string) error {
	newHash, err := xarHashFunc(want.Style)
	if err != nil {
		return fmt.Errorf("%s checksum: %w", what, err)
	}
	h := newHash()
	h.Write(data)
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(strings.TrimSpace(want.Value)) {
		return fmt.Errorf("%s checksum mismatch: %s, table of contents says %s", what, got, want.Value)
	}
	return nil
}

func xarHashFunc(style string) (func() hash.Hash, error) {
	switch strings.ToLower(style) {
	case "sha1":
		return sha1.New, nil
	case "sha256":
		return sha256.New, nil
	}
	return nil, fmt.Errorf("algorithm %q not supported", style)
}

// inflate decompresses zlib data that must come to exactly size bytes.
func inflate(z []byte, size uint64) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, int64(size)+1))
	if err != nil {
		return nil, err
	}
	if uint64(len(out)) != size {
		return nil, fmt.Errorf("%d bytes after decompression, want %d", len(out), size)
	}
	return out, nil
}
