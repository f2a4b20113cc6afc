package appid

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/saferwall/pe"
	pelog "github.com/saferwall/pe/log"
)

// Limits for reading a PE file. The agent never reads a whole executable
// (Electron apps ship 150 MB ones): only the headers, the version resource
// and the certificate table, each bounded.
const (
	maxPEHeaderBytes  = 64 << 10  // DOS stub + NT headers + section table
	maxVersionBytes   = 64 << 10  // VS_VERSIONINFO: its length is a 16-bit field
	maxPECertBytes    = 512 << 10 // certificate table; real ones are 5–50 KB
	maxResourceFanout = 4096      // entries looked at in one resource directory
)

// PEInfo is what a Windows executable says about itself. Nothing in it is
// verified: the certificate is parsed, not checked (that is WinVerifyTrust's
// job on Windows).
type PEInfo struct {
	// Version is the best version string: the ProductVersion string of the
	// version resource, else the product version of its fixed file info.
	Version string

	ProductVersion   string // StringFileInfo ProductVersion
	FileVersion      string // StringFileInfo FileVersion
	CompanyName      string // StringFileInfo CompanyName
	ProductName      string // StringFileInfo ProductName
	FileDescription  string // StringFileInfo FileDescription
	OriginalFilename string // StringFileInfo OriginalFilename

	FixedProductVersion string // VS_FIXEDFILEINFO product version "a.b.c.d"
	FixedFileVersion    string // VS_FIXEDFILEINFO file version "a.b.c.d"

	// HasSignature says the file carries an Authenticode certificate table.
	HasSignature bool
	// Publisher is the signing certificate's subject organisation (O), else
	// its common name (CN).
	Publisher string
	// SignerSubject is the signing certificate's full subject.
	SignerSubject string

	// Problems lists what could not be read (e.g. a malformed version
	// resource); the other fields hold what could.
	Problems []string
}

// ReadPEInfo opens the executable at path and parses it with ParsePEInfo.
func ReadPEInfo(path string) (PEInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return PEInfo{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return PEInfo{}, fmt.Errorf("stat %s: %w", path, err)
	}
	info, err := ParsePEInfo(f, fi.Size())
	if err != nil {
		return PEInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

// ParsePEInfo reads the version resource and the Authenticode signer of the
// PE file of the given size in r. It reads only the headers, the version
// resource and the certificate table, never the whole file. The error is
// non-nil only when r is not a PE file; lesser problems are listed in
// PEInfo.Problems.
func ParsePEInfo(r io.ReaderAt, size int64) (PEInfo, error) {
	l, err := readPELayout(r, size)
	if err != nil {
		return PEInfo{}, err
	}
	var info PEInfo
	if blob, err := l.versionResource(r); err != nil {
		if !errors.Is(err, errNoVersionResource) {
			info.Problems = append(info.Problems, "version resource: "+err.Error())
		}
	} else {
		vi, err := parseVersionInfo(blob)
		if err != nil {
			info.Problems = append(info.Problems, "version resource: "+err.Error())
		}
		info.setVersion(vi) // what could be read
	}
	if l.security.va != 0 && l.security.size != 0 {
		info.HasSignature = true
		if err := info.setSigner(r, l); err != nil {
			info.Problems = append(info.Problems, "signature: "+err.Error())
		}
	}
	return info, nil
}

func (info *PEInfo) setVersion(vi versionInfo) {
	info.ProductVersion = vi.strings["ProductVersion"]
	info.FileVersion = vi.strings["FileVersion"]
	info.CompanyName = vi.strings["CompanyName"]
	info.ProductName = vi.strings["ProductName"]
	info.FileDescription = vi.strings["FileDescription"]
	info.OriginalFilename = vi.strings["OriginalFilename"]
	info.FixedProductVersion = vi.fixedProduct
	info.FixedFileVersion = vi.fixedFile
	info.Version = normalizePEVersion(info.ProductVersion)
	if info.Version == "" {
		info.Version = vi.fixedProduct
	}
}

// normalizePEVersion turns the old "1, 2, 3, 4" style into "1.2.3.4".
func normalizePEVersion(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, ",") {
		return v
	}
	n := strings.ReplaceAll(strings.ReplaceAll(v, ", ", "."), ",", ".")
	for _, r := range n {
		if (r < '0' || r > '9') && r != '.' {
			return v
		}
	}
	return n
}

type peDataDir struct{ va, size uint32 }

type peSection struct{ va, vsize, rawSize, rawPtr uint32 }

// peLayout is the little of a PE's headers the agent needs.
type peLayout struct {
	size      int64
	header    []byte // bytes 0 .. end of the section table
	lfanew    uint32
	fileAlign uint32
	dirOff    uint32 // file offset of the data directory array
	nDirs     uint32
	sections  []peSection
	resource  peDataDir
	security  peDataDir
}

func readPELayout(r io.ReaderAt, size int64) (*peLayout, error) {
	if size < 64 {
		return nil, fmt.Errorf("not a PE file: %d bytes is too small", size)
	}
	dos := make([]byte, 64)
	if _, err := r.ReadAt(dos, 0); err != nil {
		return nil, fmt.Errorf("read DOS header: %w", err)
	}
	if string(dos[:2]) != "MZ" {
		return nil, errors.New("not a PE file: no MZ signature")
	}
	lfanew := binary.LittleEndian.Uint32(dos[0x3c:])
	if lfanew < 4 || int64(lfanew)+24 > size || lfanew > maxPEHeaderBytes {
		return nil, fmt.Errorf("not a PE file: NT header offset %#x is out of range", lfanew)
	}
	nt := make([]byte, 24)
	if _, err := r.ReadAt(nt, int64(lfanew)); err != nil {
		return nil, fmt.Errorf("read NT header: %w", err)
	}
	if string(nt[:4]) != "PE\x00\x00" {
		return nil, errors.New("not a PE file: no PE signature")
	}
	nsec := uint32(binary.LittleEndian.Uint16(nt[6:]))
	optSize := uint32(binary.LittleEndian.Uint16(nt[20:]))
	opt := lfanew + 24
	end := opt + optSize + 40*nsec
	// saferwall reads a full optional header whatever SizeOfOptionalHeader says.
	if floor := opt + 240; end < floor {
		end = floor
	}
	if end > maxPEHeaderBytes {
		return nil, fmt.Errorf("malformed PE: headers end at %#x, beyond %#x", end, maxPEHeaderBytes)
	}
	if int64(end) > size {
		return nil, fmt.Errorf("malformed PE: headers end at %#x, beyond the end of the file (%d bytes)", end, size)
	}
	l := &peLayout{size: size, lfanew: lfanew, header: make([]byte, end)}
	if _, err := r.ReadAt(l.header, 0); err != nil {
		return nil, fmt.Errorf("read PE headers: %w", err)
	}
	h := l.header
	var dirOff, nrvaOff uint32
	switch magic := binary.LittleEndian.Uint16(h[opt:]); magic {
	case 0x10b: // PE32
		dirOff, nrvaOff = opt+96, opt+92
	case 0x20b: // PE32+
		dirOff, nrvaOff = opt+112, opt+108
	default:
		return nil, fmt.Errorf("malformed PE: unknown optional header magic %#x", magic)
	}
	l.fileAlign = binary.LittleEndian.Uint32(h[opt+36:])
	l.dirOff = dirOff
	if optSize+opt > dirOff {
		l.nDirs = min(binary.LittleEndian.Uint32(h[nrvaOff:]), (optSize+opt-dirOff)/8, 16)
	}
	dir := func(i uint32) peDataDir {
		if i >= l.nDirs {
			return peDataDir{}
		}
		o := dirOff + 8*i
		return peDataDir{binary.LittleEndian.Uint32(h[o:]), binary.LittleEndian.Uint32(h[o+4:])}
	}
	l.resource, l.security = dir(2), dir(4)
	for i := range nsec {
		s := h[opt+optSize+40*i:]
		l.sections = append(l.sections, peSection{
			vsize:   binary.LittleEndian.Uint32(s[8:]),
			va:      binary.LittleEndian.Uint32(s[12:]),
			rawSize: binary.LittleEndian.Uint32(s[16:]),
			rawPtr:  binary.LittleEndian.Uint32(s[20:]),
		})
	}
	return l, nil
}

// readRVA reads n bytes at the relative virtual address rva, which must lie
// in the file-backed part of one section.
func (l *peLayout) readRVA(r io.ReaderAt, rva, n uint32) ([]byte, error) {
	for _, s := range l.sections {
		span := max(s.vsize, s.rawSize)
		if rva < s.va || uint64(rva) >= uint64(s.va)+uint64(span) {
			continue
		}
		if uint64(rva)+uint64(n) > uint64(s.va)+uint64(s.rawSize) {
			return nil, fmt.Errorf("%d bytes at RVA %#x run past the section's file data", n, rva)
		}
		ptr := s.rawPtr
		if l.fileAlign >= 0x200 {
			ptr &^= 0x1ff // the loader rounds raw pointers down to 512
		}
		off := int64(ptr) + int64(rva-s.va)
		if off+int64(n) > l.size {
			return nil, fmt.Errorf("%d bytes at RVA %#x run past the end of the file", n, rva)
		}
		b := make([]byte, n)
		if _, err := r.ReadAt(b, off); err != nil {
			return nil, fmt.Errorf("read %d bytes at RVA %#x: %w", n, rva, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("RVA %#x is in no section", rva)
}

var errNoVersionResource = errors.New("no version resource")

// rtVersion is the resource type of VS_VERSIONINFO.
const rtVersion = 16

// versionResource returns the raw VS_VERSIONINFO. It walks only the path
// type 16 → first name → preferred language, so a crafted resource tree
// (cycles, shared subdirectories) costs a few reads at most.
func (l *peLayout) versionResource(r io.ReaderAt) ([]byte, error) {
	if l.resource.va == 0 || l.resource.size == 0 {
		return nil, errNoVersionResource
	}
	base := l.resource.va
	type entry struct{ id, off uint32 }
	readDir := func(rel uint32) ([]entry, error) {
		hdr, err := l.readRVA(r, base+rel, 16)
		if err != nil {
			return nil, err
		}
		n := uint32(binary.LittleEndian.Uint16(hdr[12:])) + uint32(binary.LittleEndian.Uint16(hdr[14:]))
		n = min(n, maxResourceFanout)
		if n == 0 {
			return nil, nil
		}
		b, err := l.readRVA(r, base+rel+16, 8*n)
		if err != nil {
			return nil, err
		}
		es := make([]entry, n)
		for i := range es {
			es[i] = entry{binary.LittleEndian.Uint32(b[8*i:]), binary.LittleEndian.Uint32(b[8*i+4:])}
		}
		return es, nil
	}
	const isDir = 0x80000000
	types, err := readDir(0)
	if err != nil {
		return nil, fmt.Errorf("resource directory: %w", err)
	}
	var names []entry
	for _, e := range types {
		if e.id == rtVersion && e.off&isDir != 0 {
			if names, err = readDir(e.off &^ isDir); err != nil {
				return nil, fmt.Errorf("version resource directory: %w", err)
			}
			break
		}
	}
	if len(names) == 0 || names[0].off&isDir == 0 {
		return nil, errNoVersionResource
	}
	langs, err := readDir(names[0].off &^ isDir)
	if err != nil {
		return nil, fmt.Errorf("version resource languages: %w", err)
	}
	var pick *entry
	for _, pref := range []uint32{0x409, 0} { // en-US, then language neutral
		for i := range langs {
			if langs[i].id == pref && langs[i].off&isDir == 0 {
				pick = &langs[i]
				break
			}
		}
		if pick != nil {
			break
		}
	}
	if pick == nil {
		for i := range langs {
			if langs[i].off&isDir == 0 {
				pick = &langs[i]
				break
			}
		}
	}
	if pick == nil {
		return nil, errNoVersionResource
	}
	de, err := l.readRVA(r, base+pick.off, 16)
	if err != nil {
		return nil, fmt.Errorf("version resource data entry: %w", err)
	}
	rva, n := binary.LittleEndian.Uint32(de), binary.LittleEndian.Uint32(de[4:])
	if n > maxVersionBytes {
		return nil, fmt.Errorf("version resource of %d bytes is larger than %d", n, maxVersionBytes)
	}
	return l.readRVA(r, rva, n)
}

// setSigner parses the certificate table with saferwall/pe. saferwall works
// on a byte slice, so it gets a compact copy of the file: the headers
// followed by the certificate table, with the table's directory entry
// pointing at the copy. Everything but the security directory is skipped,
// and so are certificate and hash validation (the hash would need the whole
// file; trust is the OS's call).
func (info *PEInfo) setSigner(r io.ReaderAt, l *peLayout) error {
	sec := l.security
	if sec.size > maxPECertBytes {
		return fmt.Errorf("certificate table of %d bytes is larger than %d", sec.size, maxPECertBytes)
	}
	if int64(sec.va)+int64(sec.size) > l.size || sec.va < uint32(len(l.header)) {
		return fmt.Errorf("certificate table at %#x (+%d) is outside the file's data", sec.va, sec.size)
	}
	certOff := (uint32(len(l.header)) + 0x1ff) &^ 0x1ff
	buf := make([]byte, certOff+sec.size)
	copy(buf, l.header)
	if _, err := r.ReadAt(buf[certOff:], int64(sec.va)); err != nil {
		return fmt.Errorf("read certificate table: %w", err)
	}
	binary.LittleEndian.PutUint32(buf[l.dirOff+8*4:], certOff)
	// No COFF symbol table in the copy.
	binary.LittleEndian.PutUint32(buf[l.lfanew+12:], 0)
	binary.LittleEndian.PutUint32(buf[l.lfanew+16:], 0)

	subject, org, cn, err := parsePESigner(buf)
	if err != nil {
		return err
	}
	info.SignerSubject = subject
	info.Publisher = org
	if info.Publisher == "" {
		info.Publisher = cn
	}
	return nil
}

// parsePESigner runs saferwall/pe on the compact copy and returns the
// signing certificate's subject.
func parsePESigner(buf []byte) (subject, org, cn string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed certificate table (parser failed: %v)", r)
		}
	}()
	var logs peLogCapture
	f, err := pe.NewBytes(buf, &pe.Options{
		Logger:                     &logs,
		DisableCertValidation:      true,
		DisableSignatureValidation: true,
		OmitExportDirectory:        true,
		OmitImportDirectory:        true,
		OmitExceptionDirectory:     true,
		OmitResourceDirectory:      true, // walked by versionResource instead: bounded
		OmitRelocDirectory:         true,
		OmitDebugDirectory:         true,
		OmitArchitectureDirectory:  true,
		OmitGlobalPtrDirectory:     true,
		OmitTLSDirectory:           true,
		OmitLoadConfigDirectory:    true,
		OmitBoundImportDirectory:   true,
		OmitIATDirectory:           true,
		OmitDelayImportDirectory:   true,
		OmitCLRHeaderDirectory:     true,
		OmitCLRMetadata:            true,
	})
	if err != nil {
		return "", "", "", fmt.Errorf("pe: %w", err)
	}
	// Parse's error reports directories it could not parse; the
	// certificate table is judged by what it produced below.
	_ = f.Parse()
	if !f.HasCertificate {
		return "", "", "", errors.New("malformed certificate table")
	}
	if len(f.Certificates.Certificates) == 0 {
		if logs.last != "" {
			return "", "", "", fmt.Errorf("the certificate table holds no PKCS#7 signature that could be parsed: %s", logs.last)
		}
		return "", "", "", errors.New("the certificate table holds no PKCS#7 signature that could be parsed")
	}
	signer := f.Certificates.Certificates[0].Content.GetOnlySigner()
	if signer == nil {
		return "", "", "", errors.New("the signature does not name exactly one signing certificate")
	}
	s := signer.Subject
	if len(s.Organization) > 0 {
		org = strings.TrimSpace(s.Organization[0])
	}
	return s.String(), org, strings.TrimSpace(s.CommonName), nil
}

// peLogCapture keeps saferwall/pe from writing to stdout and remembers its
// last warning, which is how it reports a certificate table it could not
// parse.
type peLogCapture struct{ last string }

func (c *peLogCapture) Log(level pelog.Level, keyvals ...any) error {
	if level >= pelog.LevelWarn && len(keyvals) > 0 {
		c.last = fmt.Sprint(keyvals[len(keyvals)-1])
		if len(c.last) > 200 {
			c.last = c.last[:200] + "…"
		}
	}
	return nil
}
