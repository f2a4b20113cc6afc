package browserpolicy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vcguard/vcguard/internal/atomicfile"
)

// ManifestName is the manifest's file name in Config.StateDir.
const ManifestName = "browser-policies.json"

// Bounds of the manifest: it is the agent's own file in a root-only
// directory, but a damaged one must be refused with a clear error rather
// than read without limit.
const (
	maxManifestBytes   = 1 << 20
	maxManifestTargets = 64
	maxManifestEntries = 4096
	maxPathBytes       = 1024
	manifestVersion    = 1
)

// manifest records what this writer wrote, so that it rewrites and removes
// exactly that. It is saved before every change (the content vcguard is
// about to write is recorded, and the previous one kept as pending until
// the write is done), so that a crash between the two never makes vcguard
// take its own file for someone else's, or someone else's for its own.
type manifest struct {
	Version int                      `json:"version"`
	Targets map[string]*targetRecord `json:"targets"`
}

// targetRecord is one target's part of the manifest.
type targetRecord struct {
	// Format is the target's format, so that what a target wrote can be
	// removed after the target left the configuration.
	Format Format `json:"format"`
	// Written maps a file path, or a registry value's path under HKLM, to
	// the SHA-256 (hex) of the content vcguard wrote there.
	Written map[string]string `json:"written,omitempty"`
	// Pending maps a path being written to the SHA-256 of what it held
	// before ("" when absent): during the write, either is vcguard's.
	Pending map[string]string `json:"pending,omitempty"`
	// Created lists the directories or registry keys vcguard created,
	// parents first; each is removed when vcguard no longer writes under
	// it and it is empty.
	Created []string `json:"created,omitempty"`
}

func newManifest() *manifest {
	return &manifest{Version: manifestVersion, Targets: map[string]*targetRecord{}}
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// parseManifest decodes and checks a manifest; name is what errors call it.
func parseManifest(b []byte, name string) (*manifest, error) {
	if len(b) > maxManifestBytes {
		return nil, fmt.Errorf("%s: %d bytes, at most %d", name, len(b), maxManifestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	m := newManifest()
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: data after the manifest object", name)
	}
	if m.Version != manifestVersion {
		return nil, fmt.Errorf("%s: version %d, want %d", name, m.Version, manifestVersion)
	}
	if m.Targets == nil {
		m.Targets = map[string]*targetRecord{}
	}
	if len(m.Targets) > maxManifestTargets {
		return nil, fmt.Errorf("%s: %d targets, at most %d", name, len(m.Targets), maxManifestTargets)
	}
	entries := 0
	for _, tname := range slices.Sorted(maps.Keys(m.Targets)) {
		r := m.Targets[tname]
		where := fmt.Sprintf("%s: targets.%s", name, tname)
		if err := checkName(tname); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if r == nil {
			return nil, fmt.Errorf("%s: null", where)
		}
		if !r.Format.valid() {
			return nil, fmt.Errorf("%s.format: unknown format %q", where, r.Format)
		}
		entries += len(r.Written) + len(r.Pending) + len(r.Created)
		if entries > maxManifestEntries {
			return nil, fmt.Errorf("%s: more than %d entries", name, maxManifestEntries)
		}
		for p, h := range r.Written {
			if err := checkRecordedPath(r.Format, p); err != nil {
				return nil, fmt.Errorf("%s.written: %w", where, err)
			}
			if !validSum(h) {
				return nil, fmt.Errorf("%s.written[%q]: %q is not a SHA-256 in hex", where, p, h)
			}
		}
		for p, h := range r.Pending {
			if _, ok := r.Written[p]; !ok {
				return nil, fmt.Errorf("%s.pending[%q]: not in written", where, p)
			}
			if h != "" && !validSum(h) {
				return nil, fmt.Errorf("%s.pending[%q]: %q is not a SHA-256 in hex", where, p, h)
			}
		}
		seen := map[string]bool{}
		for i, p := range r.Created {
			if err := checkRecordedPath(r.Format, p); err != nil {
				return nil, fmt.Errorf("%s.created[%d]: %w", where, i, err)
			}
			if seen[p] {
				return nil, fmt.Errorf("%s.created[%d]: %q listed twice", where, i, p)
			}
			seen[p] = true
		}
	}
	return m, nil
}

func validSum(h string) bool {
	if len(h) != 2*sha256.Size || strings.ToLower(h) != h {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// checkRecordedPath refuses a path no target of format f could have
// written: vcguard acts on these paths as root, so a damaged manifest must
// not make it remove something else.
func checkRecordedPath(f Format, p string) error {
	if p == "" || len(p) > maxPathBytes {
		return fmt.Errorf("path of %d bytes, want 1-%d", len(p), maxPathBytes)
	}
	if strings.ContainsRune(p, 0) {
		return fmt.Errorf("path %q holds a NUL byte", p)
	}
	if f.registry() {
		if strings.HasPrefix(p, `\`) || strings.HasSuffix(p, `\`) || strings.Contains(p, `\\`) || strings.Contains(p, "/") {
			return fmt.Errorf("registry path %q: want KEY\\SUBKEY\\... under HKLM", p)
		}
		return nil
	}
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return fmt.Errorf("file path %q: want an absolute, clean path", p)
	}
	return nil
}

// loadManifest reads the manifest at path; a missing file is an empty
// manifest. It refuses a symbolic link or anything but a regular file.
func loadManifest(path string) (*manifest, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return newManifest(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("manifest %s is not a regular file (%s); remove it: vcguard then forgets what it wrote, and leaves those files alone", path, fi.Mode().Type())
	}
	b, err := readBounded(path, maxManifestBytes)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	return parseManifest(b, path)
}

func (m *manifest) save(path string) error {
	for n, r := range m.Targets {
		if len(r.Written) == 0 && len(r.Created) == 0 {
			delete(m.Targets, n)
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save manifest: %w", err)
	}
	return nil
}

// record returns the target's record, creating it.
func (m *manifest) record(name string, f Format) *targetRecord {
	r := m.Targets[name]
	if r == nil {
		r = &targetRecord{Format: f}
		m.Targets[name] = r
	}
	if r.Written == nil {
		r.Written = map[string]string{}
	}
	if r.Pending == nil {
		r.Pending = map[string]string{}
	}
	return r
}
