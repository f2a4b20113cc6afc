// Package catalogbundle is the encoding of a catalog version as the server
// signs and pushes it: the entry files of a catalog directory and its
// version (VERSION), in one canonical JSON form. It reads and checks the
// encoding only; package policies loads the entries (policies.BundleCatalog)
// and checks the signature. A leaf package, so that vcguardctl can build a
// bundle without linking the rest of policies.
package catalogbundle

import (
	"bytes"
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

// MaxFileBytes bounds one entry file (policies.MaxDocumentBytes).
const MaxFileBytes = 1 << 20

// VersionFile is the file of a catalog directory that holds its
// version: one whole number above 0 on a line of its own; lines starting
// with '#' and blank lines are ignored.
const VersionFile = "VERSION"

// Format names the bundle encoding; a bundle of another
// format is refused.
const Format = "vcguard-catalog/1"

// Bounds of a catalog bundle, which an agent receives from the network.
const (
	// MaxBytes bounds an encoded bundle (well under the 4 MiB
	// a gRPC message may have; the catalog is about 80 KB today).
	MaxBytes = 2 << 20
	// MaxEntries bounds the entry files of a bundle.
	MaxEntries = 1000
)

// fileName is what an entry file of a bundle may be called: a base
// name, so that nothing in a bundle names a path.
var fileName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}\.yaml$`)

// File is one entry file of a catalog bundle.
type File struct {
	// Name is the file's base name, e.g. "zoom.yaml".
	Name string `json:"file"`
	// Content is the YAML entry as written.
	Content string `json:"content"`
}

// Bundle is a catalog version: its number and its entry files,
// sorted by name.
type Bundle struct {
	Version uint64
	Files   []File
}

// bundleJSON is the encoded form. The field order is the encoding's, and
// Encode writes the one canonical form (files sorted, no white space), so
// that a bundle has exactly one encoding and the signature covers it.
type bundleJSON struct {
	Format  string `json:"format"`
	Version uint64 `json:"version"`
	Files   []File `json:"files"`
}

// ParseVersion reads a VERSION file (file names it in errors).
func ParseVersion(file string, data []byte) (uint64, error) {
	var version uint64
	found := 0
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if found > 0 {
			return 0, fmt.Errorf("%s:%d: holds a second number; a VERSION file holds one (the catalog's version)", file, i+1)
		}
		v, err := strconv.ParseUint(line, 10, 63)
		if err != nil || v == 0 {
			return 0, fmt.Errorf("%s:%d: %q is not a catalog version (a whole number above 0)", file, i+1, line)
		}
		version, found = v, i+1
	}
	if found == 0 {
		return 0, fmt.Errorf("%s:1: holds no version: write the catalog's version (a whole number above 0) on a line of its own", file)
	}
	return version, nil
}

// ReadDir reads a catalog directory into a bundle: its VERSION file
// and every *.yaml entry. It does not check the entries; Catalog does.
func ReadDir(fsys fs.FS, dir string) (*Bundle, error) {
	vpath := path.Join(dir, VersionFile)
	vdata, err := fs.ReadFile(fsys, vpath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("catalog %s: no %s file: write the catalog's version (a whole number above the one published) into it", dir, VersionFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read catalog version: %w", err)
	}
	version, err := ParseVersion(vpath, vdata)
	if err != nil {
		return nil, err
	}
	return ReadEntries(fsys, dir, version)
}

// ReadEntries reads every *.yaml entry of dir into a bundle of version (the
// embedded catalog's VERSION is read apart).
func ReadEntries(fsys fs.FS, dir string, version uint64) (*Bundle, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list catalog %s: %w", dir, err)
	}
	b := &Bundle{Version: version}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read catalog entry: %w", err)
		}
		b.Files = append(b.Files, File{Name: path.Base(name), Content: string(data)})
	}
	if err := b.check(); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", dir, err)
	}
	return b, nil
}

// check applies the bounds and rules of the encoding (not the entries').
func (b *Bundle) check() error {
	if b.Version == 0 || b.Version > 1<<63-1 {
		return fmt.Errorf("version %d is not a catalog version (a whole number above 0)", b.Version)
	}
	if len(b.Files) == 0 {
		return errors.New("no entry files (*.yaml)")
	}
	if len(b.Files) > MaxEntries {
		return fmt.Errorf("%d entry files, at most %d are accepted", len(b.Files), MaxEntries)
	}
	for i, f := range b.Files {
		if !fileName.MatchString(f.Name) {
			return fmt.Errorf("entry file %q: a name is lower-case letters, digits, '.', '_' and '-', ending in .yaml", f.Name)
		}
		if i > 0 && b.Files[i-1].Name >= f.Name {
			return fmt.Errorf("entry file %q: files must be sorted by name, each once", f.Name)
		}
		if !utf8.ValidString(f.Content) {
			return fmt.Errorf("%s: not UTF-8 text", f.Name)
		}
		if len(f.Content) > MaxFileBytes {
			return fmt.Errorf("%s: %d bytes; at most %d are accepted", f.Name, len(f.Content), MaxFileBytes)
		}
	}
	return nil
}

// Encode returns the bundle's canonical encoding, the bytes that are
// signed and sent.
func (b *Bundle) Encode() ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, fmt.Errorf("catalog bundle: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(bundleJSON{Format: Format, Version: b.Version, Files: b.Files}); err != nil {
		return nil, fmt.Errorf("catalog bundle: %w", err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(out) > MaxBytes {
		return nil, fmt.Errorf("catalog bundle: %d bytes encoded, at most %d are accepted", len(out), MaxBytes)
	}
	return out, nil
}

// Parse decodes an encoded bundle (untrusted input). It
// accepts only the canonical encoding Encode writes, within the bounds; it
// does not check the entries (Catalog does).
func Parse(data []byte) (*Bundle, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("catalog bundle: %d bytes, at most %d are accepted", len(data), MaxBytes)
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
	if raw.Format != Format {
		return nil, fmt.Errorf("catalog bundle: format %q, want %q (a newer server? upgrade the agent)", raw.Format, Format)
	}
	b := &Bundle{Version: raw.Version, Files: raw.Files}
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
