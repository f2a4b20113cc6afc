package appid

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Code signature constants (xnu osfmk/kern/cs_blobs.h).
const (
	lcCodeSignature     uint32 = 0x1d
	csMagicEmbeddedSig  uint32 = 0xfade0cc0 // SuperBlob
	csMagicCodeDir      uint32 = 0xfade0c02
	csMagicBlobWrapper  uint32 = 0xfade0b01 // CMS signature
	csSlotCodeDirectory uint32 = 0
	csSlotAltCodeDir    uint32 = 0x1000 // first of 5 alternate code directories
	csSlotSignature     uint32 = 0x10000
	csSupportsTeamID    uint32 = 0x20200

	// CSAdhoc is the code directory flag of an ad-hoc (certificate-less)
	// signature.
	CSAdhoc = 0x2
	// CSLinkerSigned marks a signature the linker made (always ad hoc).
	CSLinkerSigned = 0x20000

	maxLoadCommands = 1 << 16
	maxSuperBlobIdx = 64
	maxCSString     = 1024
)

// ErrNoCodeSignature says a Mach-O file is not signed at all.
var ErrNoCodeSignature = errors.New("no LC_CODE_SIGNATURE load command")

// CodeSignature is what a Mach-O's embedded code signature claims. It is
// parsed, not verified: whether the claim holds is for the OS to say
// (SecStaticCodeCheckValidity / codesign --verify).
type CodeSignature struct {
	Identifier string // the signing identifier, usually the bundle id
	TeamID     string // "" for ad-hoc and pre-team-id signatures
	Flags      uint32 // code directory flags
	AdHoc      bool   // Flags has CSAdhoc: no certificate
	HasCMS     bool   // a non-empty CMS (certificate) signature blob is present
	Version    uint32 // code directory version
}

// ReadCodeSignature opens the Mach-O file at path and parses it with
// ParseCodeSignature.
func ReadCodeSignature(path string) (CodeSignature, error) {
	f, err := os.Open(path)
	if err != nil {
		return CodeSignature{}, err
	}
	defer f.Close()
	cs, err := ParseCodeSignature(f)
	if err != nil {
		return CodeSignature{}, fmt.Errorf("%s: %w", path, err)
	}
	return cs, nil
}

// ParseCodeSignature reads the code signature of a Mach-O file (of the first
// architecture of a universal binary): LC_CODE_SIGNATURE → SuperBlob →
// CodeDirectory. Only the headers and the few blobs it needs are read, not
// the symbol tables or the page hashes.
func ParseCodeSignature(r io.ReaderAt) (CodeSignature, error) {
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil {
		return CodeSignature{}, fmt.Errorf("read Mach-O magic: %w", err)
	}
	base, limit := int64(0), int64(-1)
	switch binary.BigEndian.Uint32(magic[:]) {
	case macho.MagicFat, macho.MagicFat + 1: // fat_header, fat64
		is64 := binary.BigEndian.Uint32(magic[:]) != macho.MagicFat
		var hdr [8]byte
		if _, err := r.ReadAt(hdr[:], 0); err != nil {
			return CodeSignature{}, fmt.Errorf("read universal header: %w", err)
		}
		if binary.BigEndian.Uint32(hdr[4:]) == 0 {
			return CodeSignature{}, errors.New("universal binary with no architectures")
		}
		if is64 {
			var a [32]byte // cputype, cpusubtype, offset u64, size u64, align, reserved
			if _, err := r.ReadAt(a[:], 8); err != nil {
				return CodeSignature{}, fmt.Errorf("read universal arch: %w", err)
			}
			base, limit = int64(binary.BigEndian.Uint64(a[8:])), int64(binary.BigEndian.Uint64(a[16:]))
		} else {
			var a [20]byte // cputype, cpusubtype, offset, size, align
			if _, err := r.ReadAt(a[:], 8); err != nil {
				return CodeSignature{}, fmt.Errorf("read universal arch: %w", err)
			}
			base, limit = int64(binary.BigEndian.Uint32(a[8:])), int64(binary.BigEndian.Uint32(a[12:]))
		}
		if base <= 0 || limit <= 0 {
			return CodeSignature{}, fmt.Errorf("universal binary: first architecture at %d (+%d) is out of range", base, limit)
		}
	}
	return parseThinCodeSignature(r, base, limit)
}

// parseThinCodeSignature parses the Mach-O at base (limit bytes long, or
// unbounded when limit < 0).
func parseThinCodeSignature(r io.ReaderAt, base, limit int64) (CodeSignature, error) {
	var hdr [32]byte
	if _, err := r.ReadAt(hdr[:28], base); err != nil {
		return CodeSignature{}, fmt.Errorf("read Mach-O header: %w", err)
	}
	var bo binary.ByteOrder
	var hdrSize int64
	le, be := binary.LittleEndian.Uint32(hdr[:]), binary.BigEndian.Uint32(hdr[:])
	switch {
	case le == macho.Magic64:
		bo, hdrSize = binary.LittleEndian, 32
	case le == macho.Magic32:
		bo, hdrSize = binary.LittleEndian, 28
	case be == macho.Magic64:
		bo, hdrSize = binary.BigEndian, 32
	case be == macho.Magic32:
		bo, hdrSize = binary.BigEndian, 28
	default:
		return CodeSignature{}, fmt.Errorf("not a Mach-O file: magic %#08x", be)
	}
	ncmds, sizeofcmds := bo.Uint32(hdr[16:]), int64(bo.Uint32(hdr[20:]))
	if ncmds > maxLoadCommands {
		return CodeSignature{}, fmt.Errorf("Mach-O: %d load commands is implausible", ncmds)
	}
	inFile := func(off, n int64) bool {
		return off >= 0 && n >= 0 && (limit < 0 || off+n <= limit)
	}
	if !inFile(hdrSize, sizeofcmds) {
		return CodeSignature{}, fmt.Errorf("Mach-O: load commands (%d bytes) run past the file", sizeofcmds)
	}
	off := hdrSize
	var cmd [16]byte
	for i := range ncmds {
		if off+8 > hdrSize+sizeofcmds {
			return CodeSignature{}, fmt.Errorf("Mach-O: load command %d runs past sizeofcmds", i)
		}
		if _, err := r.ReadAt(cmd[:8], base+off); err != nil {
			return CodeSignature{}, fmt.Errorf("read load command %d: %w", i, err)
		}
		c, size := bo.Uint32(cmd[:]), int64(bo.Uint32(cmd[4:]))
		if size < 8 || off+size > hdrSize+sizeofcmds {
			return CodeSignature{}, fmt.Errorf("Mach-O: load command %d has bad size %d", i, size)
		}
		if c == lcCodeSignature {
			if size < 16 {
				return CodeSignature{}, fmt.Errorf("Mach-O: LC_CODE_SIGNATURE of %d bytes is too short", size)
			}
			if _, err := r.ReadAt(cmd[:16], base+off); err != nil {
				return CodeSignature{}, fmt.Errorf("read LC_CODE_SIGNATURE: %w", err)
			}
			dataoff, datasize := int64(bo.Uint32(cmd[8:])), int64(bo.Uint32(cmd[12:]))
			if !inFile(dataoff, datasize) {
				return CodeSignature{}, fmt.Errorf("Mach-O: code signature at %d (+%d) runs past the file", dataoff, datasize)
			}
			return parseSuperBlob(io.NewSectionReader(r, base+dataoff, datasize), datasize)
		}
		off += size
	}
	return CodeSignature{}, ErrNoCodeSignature
}

// parseSuperBlob reads the embedded signature SuperBlob (big-endian).
func parseSuperBlob(r io.ReaderAt, size int64) (CodeSignature, error) {
	var hdr [12]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return CodeSignature{}, fmt.Errorf("read code signature SuperBlob: %w", err)
	}
	be := binary.BigEndian
	if m := be.Uint32(hdr[:]); m != csMagicEmbeddedSig {
		return CodeSignature{}, fmt.Errorf("code signature: SuperBlob magic %#08x, want %#08x", m, csMagicEmbeddedSig)
	}
	length, count := int64(be.Uint32(hdr[4:])), be.Uint32(hdr[8:])
	if length < 12 || length > size {
		return CodeSignature{}, fmt.Errorf("code signature: SuperBlob length %d out of range (%d bytes)", length, size)
	}
	if count > maxSuperBlobIdx || 12+8*int64(count) > length {
		return CodeSignature{}, fmt.Errorf("code signature: %d blobs is implausible for %d bytes", count, length)
	}
	idx := make([]byte, 8*count)
	if _, err := r.ReadAt(idx, 12); err != nil {
		return CodeSignature{}, fmt.Errorf("read SuperBlob index: %w", err)
	}
	cdOff := int64(-1)
	var cs CodeSignature
	for i := range count {
		typ, off := be.Uint32(idx[8*i:]), int64(be.Uint32(idx[8*i+4:]))
		if off < 12 || off+8 > length {
			return CodeSignature{}, fmt.Errorf("code signature: blob %d at %d is outside the SuperBlob", i, off)
		}
		switch {
		case typ == csSlotCodeDirectory:
			cdOff = off
		case typ >= csSlotAltCodeDir && typ < csSlotAltCodeDir+5 && cdOff < 0:
			cdOff = off
		case typ == csSlotSignature:
			var b [8]byte
			if _, err := r.ReadAt(b[:], off); err != nil {
				return CodeSignature{}, fmt.Errorf("read CMS blob: %w", err)
			}
			cs.HasCMS = be.Uint32(b[:]) == csMagicBlobWrapper && be.Uint32(b[4:]) > 8
		}
	}
	if cdOff < 0 {
		return CodeSignature{}, errors.New("code signature: no CodeDirectory")
	}
	var cd [52]byte
	n, err := r.ReadAt(cd[:], cdOff)
	if n < 44 {
		return CodeSignature{}, fmt.Errorf("read CodeDirectory: %w", err)
	}
	if m := be.Uint32(cd[:]); m != csMagicCodeDir {
		return CodeSignature{}, fmt.Errorf("code signature: CodeDirectory magic %#08x, want %#08x", m, csMagicCodeDir)
	}
	cdLen := int64(be.Uint32(cd[4:]))
	if cdLen < 44 || cdOff+cdLen > length {
		return CodeSignature{}, fmt.Errorf("code signature: CodeDirectory length %d out of range", cdLen)
	}
	cs.Version = be.Uint32(cd[8:])
	cs.Flags = be.Uint32(cd[12:])
	cs.AdHoc = cs.Flags&CSAdhoc != 0
	cd1 := io.NewSectionReader(r, cdOff, cdLen)
	if cs.Identifier, err = readCString(cd1, int64(be.Uint32(cd[20:])), cdLen); err != nil {
		return CodeSignature{}, fmt.Errorf("code signature identifier: %w", err)
	}
	if cs.Version >= csSupportsTeamID && cdLen >= 52 && n >= 52 {
		if teamOff := int64(be.Uint32(cd[48:])); teamOff != 0 {
			if cs.TeamID, err = readCString(cd1, teamOff, cdLen); err != nil {
				return CodeSignature{}, fmt.Errorf("code signature team id: %w", err)
			}
		}
	}
	return cs, nil
}

// readCString reads a NUL-terminated string at off in a blob of size bytes.
func readCString(r io.ReaderAt, off, size int64) (string, error) {
	if off <= 0 || off >= size {
		return "", fmt.Errorf("offset %d is outside the CodeDirectory (%d bytes)", off, size)
	}
	b := make([]byte, min(maxCSString, size-off))
	n, err := r.ReadAt(b, off)
	b = b[:n]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i]), nil
	}
	if err != nil && err != io.EOF {
		return "", err
	}
	return "", fmt.Errorf("string at %d is not NUL-terminated within %d bytes", off, len(b))
}
