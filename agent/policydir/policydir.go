// Package policydir reads the local policy an MDM places on the device: a
// root-owned directory of policy documents (Linux /etc/vcguard/policy.d/,
// Windows %ProgramData%\vcguard\policy.d\, macOS /Library/Application
// Support/vcguard/policy.d/ plus the managed preferences of the domain
// eu.vcguard.agent). Every file is a policy in the central format; the
// agent applies all of them beside the central policy, and the strictest
// finding wins (policies.EvaluateStrictest).
//
// A file whose new content is refused (broken YAML, an unknown app, a file
// anyone but root may write) keeps its last good content in force, and the
// refusal is reported with the file, line and field.
package policydir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/vcguard/vcguard/policies"
)

// maxFileSize bounds what is read from one file.
const maxFileSize = 1 << 20

// File is one local policy source.
type File struct {
	// Path is the file, or "managed-preferences:KEY" for a document from
	// macOS managed preferences.
	Path string
	// SHA256 is the hash of the content in force, hex; "" when none is.
	SHA256 string
	// Policy is the policy in force from this source: its last good
	// content; nil when it never had one.
	Policy *policies.Policy
	// Err is why the current content is refused, nil when it is in force.
	Err error
}

// Dir is the local policy directory with what was read from it.
type Dir struct {
	path    string
	extra   func() (map[string][]byte, error) // managed preferences (macOS)
	catalog *policies.Catalog
	// catalogs hands Watch a new catalog (SetCatalog); the newest wins.
	catalogs chan *policies.Catalog
	files    map[string]*File
	// checkOwner refuses files that are not root-owned or that group or
	// others may write; off only in tests that cannot run as root.
	checkOwner bool
}

// Open returns the directory at path (which may not exist yet) and reads
// it, with the OS's managed preferences where it has them (macOS).
func Open(path string, cat *policies.Catalog) *Dir {
	d := &Dir{path: path, catalog: cat, catalogs: make(chan *policies.Catalog, 1), files: make(map[string]*File), checkOwner: true, extra: managedPreferences}
	d.Reload()
	return d
}

// SetCatalog has Watch read every source again against cat, a newer
// catalog the agent now uses: a drop-in refused for naming a tool only cat
// knows comes into force (and one naming a tool cat dropped is refused,
// its last good content staying). Safe from any goroutine; without a
// running Watch it waits for one.
func (d *Dir) SetCatalog(cat *policies.Catalog) {
	for {
		select {
		case d.catalogs <- cat:
			return
		default:
		}
		select {
		case <-d.catalogs: // an older one not taken yet
		default:
		}
	}
}

// Path returns the directory watched.
func (d *Dir) Path() string { return d.path }

// Files returns every source, in path order.
func (d *Dir) Files() []File {
	out := make([]File, 0, len(d.files))
	for _, f := range d.files {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// Policies returns the policies in force, in path order.
func (d *Dir) Policies() []*policies.Policy {
	var out []*policies.Policy
	for _, f := range d.Files() {
		if f.Policy != nil {
			out = append(out, f.Policy)
		}
	}
	return out
}

// Reload reads every source again and reports whether anything changed:
// content in force, or an error.
func (d *Dir) Reload() bool {
	seen := make(map[string]bool)
	changed := false
	entries, err := os.ReadDir(d.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		changed = d.set(d.path, nil, fmt.Errorf("read policy directory %s: %w", d.path, err)) || changed
		seen[d.path] = true
	}
	if err == nil {
		if err := d.checkProtected(d.path); err != nil {
			changed = d.set(d.path, nil, err) || changed
			seen[d.path] = true
			entries = nil
		}
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".json")) {
			continue
		}
		path := filepath.Join(d.path, name)
		seen[path] = true
		data, err := d.read(path)
		changed = d.set(path, data, err) || changed
	}
	if d.extra != nil {
		docs, err := d.extra()
		if err != nil {
			seen["managed-preferences"] = true
			changed = d.set("managed-preferences", nil, err) || changed
		}
		for key, data := range docs {
			path := "managed-preferences:" + key
			seen[path] = true
			changed = d.set(path, data, nil) || changed
		}
	}
	for path := range d.files {
		if !seen[path] {
			delete(d.files, path) // removed: its policy no longer applies
			changed = true
		}
	}
	return changed
}

func (d *Dir) read(path string) ([]byte, error) {
	if err := d.checkProtected(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFileSize)
	}
	return data, nil
}

// set records a source's new content (or the error reading it) and
// reports whether that changed anything.
func (d *Dir) set(path string, data []byte, readErr error) bool {
	f, ok := d.files[path]
	if !ok {
		f = &File{Path: path}
		d.files[path] = f
	}
	if readErr != nil {
		changed := f.Err == nil || f.Err.Error() != readErr.Error()
		f.Err = readErr
		return changed || !ok
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	if hash == f.SHA256 && f.Err == nil {
		return !ok
	}
	p, err := policies.ParsePolicy(path, data, d.catalog)
	if err != nil {
		changed := f.Err == nil || f.Err.Error() != err.Error()
		f.Err = err
		return changed || !ok
	}
	f.Policy, f.SHA256, f.Err = p, hash, nil
	return true
}

// concerns reports whether a change to name may change the sources: the
// directory itself or anything in it, a managed preferences folder's
// files; not the directory's siblings in parent.
func (d *Dir) concerns(name, parent string) bool {
	return name == d.path || filepath.Dir(name) != parent
}

// Watch reloads the directory whenever something in it (or the directory
// itself, created or removed later) changes, and calls onChange with the
// sources after each reload that changed something, until ctx ends.
// Changes arriving together are taken in one reload after a short settling
// time. From the call on, the Dir belongs to Watch's goroutine: read the
// sources from onChange, not from Files.
func (d *Dir) Watch(ctx context.Context, logger *slog.Logger, onChange func([]File)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", d.path, err)
	}
	defer w.Close()
	parent := filepath.Dir(d.path)
	watching := ""
	watchDir := func() {
		// Watch the directory when it exists, else its parent to see it
		// appear (and the parent always, to see it replaced).
		if watching != d.path {
			if err := w.Add(d.path); err == nil {
				watching = d.path
			}
		}
	}
	if err := w.Add(parent); err != nil && logger != nil {
		logger.Debug("cannot watch the policy directory's parent", "dir", parent, "err", err)
	}
	watchDir()
	for _, extra := range managedPreferencesDirs {
		_ = w.Add(extra)
	}
	// What changed between Open and the watches being in place.
	if d.Reload() {
		onChange(d.Files())
	}
	const settle = 100 * time.Millisecond
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Name == d.path && ev.Has(fsnotify.Remove|fsnotify.Rename) {
				watching = ""
			}
			if !d.concerns(ev.Name, parent) {
				// Another file in the parent: a log or status file written
				// there every second cost a reload a second.
				continue
			}
			if timer == nil {
				timer = time.After(settle)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			if logger != nil {
				logger.Warn("policy directory watch", "dir", d.path, "err", err)
			}
			if timer == nil {
				timer = time.After(settle)
			}
		case <-timer:
			timer = nil
			watchDir()
			if d.Reload() {
				onChange(d.Files())
			}
		case cat := <-d.catalogs:
			d.catalog = cat
			for _, f := range d.files {
				f.SHA256 = "" // parsed again, against cat
			}
			if d.Reload() {
				onChange(d.Files())
			}
		}
	}
}
