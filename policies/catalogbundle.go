package policies

// Signed catalog updates: the catalog travels from the server to the
// agents like a policy does (signed, pushed, cached, refused when not
// newer), as a bundle of the entry files under a version number.

import (
	"bytes"
	"crypto/ed25519"
	_ "embed" // the embedded catalog's VERSION
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

//go:embed catalog/VERSION
var embeddedCatalogVersion []byte

// CatalogVersionFile is the file of a catalog directory that holds its
// version: one whole number above 0 on a line of its own; lines starting
// with '#' and blank lines are ignored.
const CatalogVersionFile = "VERSION"

// CatalogBundleFormat names the bundle encoding; a bundle of another
// format is refused.
const CatalogBundleFormat = "vcguard-catalog/1"

// Bounds of a catalog bundle, which an agent receives from the network.
const (
	// MaxCatalogBundleBytes bounds an encoded bundle (well under the 4 MiB
	// a gRPC message may have; the catalog is about 80 KB today).
	MaxCatalogBundleBytes = 2 << 20
	// MaxCatalogEntries bounds the entry files of a bundle.
	MaxCatalogEntries = 1000
)

// catalogFileName is what an entry file of a bundle may be called: a base
// name, so that nothing in a bundle names a path.
var catalogFileName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}\.yaml$`)

// CatalogFile is one entry file of a catalog bundle.
type CatalogFile struct {
	// Name is the file's base name, e.g. "zoom.yaml".
	Name string `json:"file"`
	// Content is the YAML entry as written.
	Content string `json:"content"`
}

// CatalogBundle is a catalog version: its number and its entry files,
// sorted by name.
type CatalogBundle struct {
	Version uint64
	Files   []CatalogFile
}

// bundleJSON is the encoded form. The field order is the encoding's, and
// Encode writes the one canonical form (files sorted, no white space), so
// that a bundle has exactly one encoding and the signature covers it.
type bundleJSON struct {
	Format  string        `json:"format"`
	Version uint64        `json:"version"`
	Files   []CatalogFile `json:"files"`
}

// ParseCatalogVersion reads a VERSION file (file names it in errors).
func ParseCatalogVersion(file string, data []byte) (uint64, error) {
	var version uint64
	found := 0
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if found > 0 {
			return 0, &FieldError{File: file, Line: i + 1, Msg: "holds a second number; a VERSION file holds one (the catalog's version)"}
		}
		v, err := strconv.ParseUint(line, 10, 63)
		if err != nil || v == 0 {
			return 0, &FieldError{File: file, Line: i + 1, Msg: fmt.Sprintf("%q is not a catalog version (a whole number above 0)", line)}
		}
		version, found = v, i+1
	}
	if found == 0 {
		return 0, &FieldError{File: file, Line: 1, Msg: "holds no version: write the catalog's version (a whole number above 0) on a line of its own"}
	}
	return version, nil
}

// EmbeddedCatalogVersion is the version of the catalog compiled into the
// binary (policies/catalog/VERSION).
func EmbeddedCatalogVersion() (uint64, error) {
	return ParseCatalogVersion("catalog/"+CatalogVersionFile, embeddedCatalogVersion)
}

// EmbeddedCatalogBundle is the catalog compiled into the binary as a
// bundle.
func EmbeddedCatalogBundle() (*CatalogBundle, error) {
	version, err := EmbeddedCatalogVersion()
	if err != nil {
		return nil, err
	}
	return readCatalogEntries(catalogFS, "catalog", version)
}

// ReadCatalogDir reads a catalog directory into a bundle: its VERSION file
// and every *.yaml entry. It does not check the entries; Catalog does.
func ReadCatalogDir(fsys fs.FS, dir string) (*CatalogBundle, error) {
	vpath := path.Join(dir, CatalogVersionFile)
	vdata, err := fs.ReadFile(fsys, vpath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("catalog %s: no %s file: write the catalog's version (a whole number above the one published) into it", dir, CatalogVersionFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read catalog version: %w", err)
	}
	version, err := ParseCatalogVersion(vpath, vdata)
	if err != nil {
		return nil, err
	}
	return readCatalogEntries(fsys, dir, version)
}

func readCatalogEntries(fsys fs.FS, dir string, version uint64) (*CatalogBundle, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list catalog %s: %w", dir, err)
	}
	b := &CatalogBundle{Version: version}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read catalog entry: %w", err)
		}
		b.Files = append(b.Files, CatalogFile{Name: path.Base(name), Content: string(data)})
	}
	if err := b.check(); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", dir, err)
	}
	return b, nil
}

// check applies the bounds and rules of the encoding (not the entries').
func (b *CatalogBundle) check() error {
	if b.Version == 0 || b.Version > 1<<63-1 {
		return fmt.Errorf("version %d is not a catalog version (a whole number above 0)", b.Version)
	}
	if len(b.Files) == 0 {
		return errors.New("no entry files (*.yaml)")
	}
	if len(b.Files) > MaxCatalogEntries {
		return fmt.Errorf("%d entry files, at most %d are accepted", len(b.Files), MaxCatalogEntries)
	}
	for i, f := range b.Files {
		if !catalogFileName.MatchString(f.Name) {
			return fmt.Errorf("entry file %q: a name is lower-case letters, digits, '.', '_' and '-', ending in .yaml", f.Name)
		}
		if i > 0 && b.Files[i-1].Name >= f.Name {
			return fmt.Errorf("entry file %q: files must be sorted by name, each once", f.Name)
		}
		if !utf8.ValidString(f.Content) {
			return fmt.Errorf("%s: not UTF-8 text", f.Name)
		}
		if len(f.Content) > MaxDocumentBytes {
			return fmt.Errorf("%s: %d bytes; at most %d are accepted", f.Name, len(f.Content), MaxDocumentBytes)
		}
	}
	return nil
}

// Encode returns the bundle's canonical encoding, the bytes that are
// signed and sent.
func (b *CatalogBundle) Encode() ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, fmt.Errorf("catalog bundle: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(bundleJSON{Format: CatalogBundleFormat, Version: b.Version, Files: b.Files}); err != nil {
		return nil, fmt.Errorf("catalog bundle: %w", err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(out) > MaxCatalogBundleBytes {
		return nil, fmt.Errorf("catalog bundle: %d bytes encoded, at most %d are accepted", len(out), MaxCatalogBundleBytes)
	}
	return out, nil
}

// ParseCatalogBundle decodes an encoded bundle (untrusted input). It
// accepts only the canonical encoding Encode writes, within the bounds; it
// does not check the entries (Catalog does).
func ParseCatalogBundle(data []byte) (*CatalogBundle, error) {
	if len(data) > MaxCatalogBundleBytes {
		return nil, fmt.Errorf("catalog bundle: %d bytes, at most %d are accepted", len(data), MaxCatalogBundleBytes)
	}
	var raw bundleJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("catalog bundle: %w", err)
	}
	if dec.More() {
		return nil, errors.New("catalog bundle: data after the bundle")
	}
	if raw.Format != CatalogBundleFormat {
		return nil, fmt.Errorf("catalog bundle: format %q, want %q (a newer server? upgrade the agent)", raw.Format, CatalogBundleFormat)
	}
	b := &CatalogBundle{Version: raw.Version, Files: raw.Files}
	if err := b.check(); err != nil {
		return nil, fmt.Errorf("catalog bundle version %d: %w", raw.Version, err)
	}
	canonical, err := b.Encode()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canonical, data) {
		return nil, fmt.Errorf("catalog bundle version %d: not in canonical form (re-encode it with vcguardctl)", raw.Version)
	}
	return b, nil
}

// Catalog loads the bundle's entries. A broken entry fails the whole load
// with the catalog version, the entry file and its line.
func (b *CatalogBundle) Catalog() (*Catalog, error) {
	apps := make([]*App, 0, len(b.Files))
	for _, f := range b.Files {
		app, err := ParseApp(f.Name, []byte(f.Content))
		if err != nil {
			return nil, fmt.Errorf("catalog version %d: %w", b.Version, err)
		}
		apps = append(apps, app)
	}
	c, err := NewCatalog(apps...)
	if err != nil {
		return nil, fmt.Errorf("catalog version %d: %w", b.Version, err)
	}
	return c, nil
}

// catalogSignatureContext separates catalog signatures from policy
// signatures made with the same key: a policy's signature never verifies
// as a catalog's, nor the other way round.
const catalogSignatureContext = "vcguard catalog signature v1\x00"

// CatalogSignedPayload is the byte string an Ed25519 catalog signature
// covers: a context string, the version and the encoded bundle.
func CatalogSignedPayload(version uint64, bundle []byte) []byte {
	b := make([]byte, 0, len(catalogSignatureContext)+8+len(bundle))
	b = append(b, catalogSignatureContext...)
	b = binary.BigEndian.AppendUint64(b, version)
	return append(b, bundle...)
}

// SignCatalog signs an encoded catalog bundle with the server's policy
// key.
func SignCatalog(key ed25519.PrivateKey, version uint64, bundle []byte) []byte {
	return ed25519.Sign(key, CatalogSignedPayload(version, bundle))
}

// ErrBadCatalogSignature is returned when a catalog's signature does not
// verify.
var ErrBadCatalogSignature = errors.New("catalog signature does not verify with the pinned key")

// VerifyCatalog checks a catalog signature against the pinned public key.
func VerifyCatalog(pub ed25519.PublicKey, version uint64, bundle, signature []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("pinned policy key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if !ed25519.Verify(pub, CatalogSignedPayload(version, bundle), signature) {
		return ErrBadCatalogSignature
	}
	return nil
}

// OpenSignedCatalog verifies a signed catalog bundle, decodes it and loads
// its entries: the signature first, then the version inside the bundle
// against the signed one, then every entry.
func OpenSignedCatalog(pub ed25519.PublicKey, version uint64, bundle, signature []byte) (*CatalogBundle, *Catalog, error) {
	if err := VerifyCatalog(pub, version, bundle, signature); err != nil {
		return nil, nil, fmt.Errorf("catalog version %d: %w", version, err)
	}
	b, err := ParseCatalogBundle(bundle)
	if err != nil {
		return nil, nil, err
	}
	if b.Version != version {
		return nil, nil, fmt.Errorf("catalog bundle says version %d, signed as version %d", b.Version, version)
	}
	c, err := b.Catalog()
	if err != nil {
		return nil, nil, err
	}
	return b, c, nil
}
