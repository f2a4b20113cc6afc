package browserpolicy

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Config configures a Writer.
type Config struct {
	// StateDir is the agent's state directory (root's, mode 0700), where
	// the manifest of what was written lives (ManifestName).
	StateDir string
	// Targets are the browsers' policy places; nil means DefaultTargets().
	Targets []Target
	// Logger receives what was written, restored, removed and skipped;
	// nil discards it.
	Logger *slog.Logger
}

// Writer writes the browsers' managed policies and keeps them as the
// organisation's policy says. It is safe for concurrent use; a state
// directory has one Writer (the manifest is read and written by Apply
// without a lock file).
type Writer struct {
	mu       sync.Mutex
	targets  []Target
	manifest string
	log      *slog.Logger
}

// New checks cfg and returns a Writer. It writes nothing.
func New(cfg Config) (*Writer, error) {
	if cfg.StateDir == "" || !filepath.IsAbs(cfg.StateDir) {
		return nil, fmt.Errorf("browser policies: state directory %q: want an absolute path", cfg.StateDir)
	}
	if err := checkStateDir(cfg.StateDir); err != nil {
		return nil, fmt.Errorf("browser policies: %w", err)
	}
	targets := cfg.Targets
	if targets == nil {
		targets = DefaultTargets()
		if len(targets) == 0 {
			return nil, fmt.Errorf("browser policies: %w on this operating system", errors.ErrUnsupported)
		}
	}
	seen := map[string]bool{}
	for _, t := range targets {
		if err := t.validate(); err != nil {
			return nil, fmt.Errorf("browser policies: %w", err)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("browser policies: target name %q used twice", t.Name)
		}
		seen[t.Name] = true
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Writer{
		targets:  slices.Clone(targets),
		manifest: filepath.Join(cfg.StateDir, ManifestName),
		log:      log.With("component", "browserpolicy"),
	}, nil
}

// Report says what Apply did. Paths are file paths, or registry values as
// HKLM\KEY\...\NAME.
type Report struct {
	// Written are the files and values written (new or changed content).
	Written []string
	// Restored are those of Written that vcguard had written and someone
	// had changed or deleted since.
	Restored []string
	// Unchanged already held what they must.
	Unchanged []string
	// Removed are the files, values, directories and keys removed.
	Removed []string
	// Skipped are the targets left alone, with the reason.
	Skipped []Skip
}

// Skip is a target Apply left alone and why; the reason says what IT can
// do instead.
type Skip struct {
	Target string
	Reason string
}

// Apply makes the managed policies say spec. With spec nil it removes
// everything this writer wrote (per its manifest) and nothing else.
//
// It is idempotent: content already right is left alone (Unchanged). A file
// of vcguard's own (ChromiumFile) that someone changed or deleted is
// rewritten and reported in Restored. A shared place (Firefox's
// policies.json, a registry value) that holds what vcguard did not write,
// or that someone changed since, is never touched: the target is Skipped
// with what to set by hand. A symbolic link, or a directory that others may
// write, is refused the same way. An error is returned for what failed
// (I/O, an invalid spec); the other targets are still applied.
func (w *Writer) Apply(spec *Spec) (Report, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var s Spec
	if spec != nil {
		var err error
		if s, err = spec.normalize(); err != nil {
			return Report{}, fmt.Errorf("browser policies: %w", err)
		}
	}
	m, err := loadManifest(w.manifest)
	if err != nil {
		return Report{}, fmt.Errorf("browser policies: %w", err)
	}
	var rep Report
	var errs []error
	configured := map[string]bool{}
	for _, t := range w.targets {
		configured[t.Name] = true
		var want []entry
		if spec != nil {
			want = t.entries(s)
		}
		if err := w.applyTarget(m, t, spec != nil, s, want, &rep); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t, err))
		}
	}
	// What targets no longer configured wrote goes.
	for _, name := range slices.Sorted(maps.Keys(m.Targets)) {
		if configured[name] {
			continue
		}
		t := Target{Name: name, Format: m.Targets[name].Format}
		if err := w.applyTarget(m, t, false, Spec{}, nil, &rep); err != nil {
			errs = append(errs, fmt.Errorf("%s (no longer configured): %w", name, err))
		}
	}
	// Targets share parents (/etc/opt for Chrome and Edge): a directory
	// one target created may only have emptied once a later target was
	// done. Sweep once more over every target's created containers.
	if err := w.sweep(m, &rep); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return rep, fmt.Errorf("browser policies: %w", err)
	}
	return rep, nil
}

// sweep removes the containers any target created that nothing written
// lives under and that are empty now, the deepest first.
func (w *Writer) sweep(m *manifest, rep *Report) error {
	changed := false
	for _, name := range slices.Sorted(maps.Keys(m.Targets)) {
		rec := m.Targets[name]
		pl, err := placeFor(rec.Format)
		if err != nil || len(rec.Created) == 0 {
			continue
		}
		keep := rec.Created[:0:0]
		for i := len(rec.Created) - 1; i >= 0; i-- {
			d := rec.Created[i]
			needed := slices.ContainsFunc(slices.Collect(maps.Keys(rec.Written)), func(p string) bool { return pl.under(p, d) })
			if !needed {
				removed, err := pl.removeEmpty(d)
				if err != nil {
					return err
				}
				if removed || !pl.exists(d) {
					if removed {
						rep.Removed = append(rep.Removed, show(Target{Name: name, Format: rec.Format}, d))
						w.log.Info("browser policy container removed", "target", name, "path", d)
					}
					changed = true
					continue
				}
			}
			keep = append(keep, d)
		}
		slices.Reverse(keep)
		rec.Created = keep
	}
	if !changed {
		return nil
	}
	return m.save(w.manifest)
}

// current is what a path holds before Apply acts.
type current struct {
	content []byte
	exists  bool
	// restore: vcguard wrote it and it was changed or deleted since.
	restore bool
}

func (w *Writer) applyTarget(m *manifest, t Target, enforce bool, s Spec, want []entry, rep *Report) error {
	log := w.log.With("target", t.Name)
	if t.Format == ManagedPreferences {
		if enforce {
			reason := "macOS lets only configuration profiles manage the policies of " + t.Path + ": install the vcguard browser policy profile (.mobileconfig) through your MDM"
			rep.Skipped = append(rep.Skipped, Skip{Target: t.Name, Reason: reason})
			log.Warn("browser policy skipped", "reason", reason)
		}
		return nil
	}
	rec := m.Targets[t.Name]
	if rec == nil && len(want) == 0 {
		return nil
	}
	if rec != nil && rec.Format != t.Format {
		return fmt.Errorf("the manifest records format %s for this target, configured as %s; remove what it wrote by hand and then its entry in %s", rec.Format, t.Format, w.manifest)
	}
	pl, err := placeFor(t.Format)
	if err != nil {
		return err
	}
	rec = m.record(t.Name, t.Format)

	// Look first, touch nothing: a target is applied whole or not at all.
	wanted := map[string]bool{}
	paths := []string{}
	for _, e := range want {
		wanted[e.path] = true
		paths = append(paths, e.path)
	}
	for _, p := range slices.Sorted(maps.Keys(rec.Written)) {
		if !wanted[p] {
			paths = append(paths, p)
		}
	}
	cur := map[string]current{}
	var foreign, changed []string
	for _, p := range paths {
		if err := pl.check(p); err != nil {
			return w.skip(rep, log, t, err.Error()+"; vcguard leaves "+t.where()+" alone")
		}
		content, ok, err := pl.read(p)
		if err != nil {
			return err
		}
		c := current{content: content, exists: ok}
		recorded, isOurs := rec.Written[p]
		switch {
		case !isOurs && ok:
			foreign = append(foreign, show(t, p))
		case !isOurs:
		case !ok:
			c.restore = true
		case sum(content) == recorded:
		case rec.Pending[p] != "" && sum(content) == rec.Pending[p]:
			// A write that did not finish: the old content was vcguard's.
		case t.Format.shared():
			changed = append(changed, p)
		default:
			c.restore = true
		}
		cur[p] = c
	}
	if len(changed) > 0 {
		// Someone changed what vcguard wrote into a shared place: it is
		// theirs now. Forget it, so that vcguard neither overwrites nor
		// removes it.
		for _, p := range changed {
			delete(rec.Written, p)
			delete(rec.Pending, p)
			foreign = append(foreign, show(t, p)+" (changed since vcguard wrote it)")
		}
		if err := m.save(w.manifest); err != nil {
			return err
		}
	}
	if len(foreign) > 0 {
		reason := strings.Join(foreign, ", ") + ": not written by vcguard, so vcguard leaves " + t.where() + " alone"
		if enforce {
			reason += "; to enforce the browser policy, " + t.byHand(s)
		} else {
			reason += "; remove vcguard's camera and microphone entries there by hand if they are still wanted gone"
		}
		return w.skip(rep, log, t, reason)
	}

	// Write what must be there. The manifest records the new content
	// before each write (the old one kept as pending), so that a crash in
	// between leaves both taken for vcguard's.
	for _, e := range want {
		c := cur[e.path]
		if c.exists && bytes.Equal(c.content, e.content) {
			rep.Unchanged = append(rep.Unchanged, show(t, e.path))
			continue
		}
		prev := ""
		if c.exists {
			prev = sum(c.content)
		}
		missing, err := pl.missing(e.path)
		if err != nil {
			return err
		}
		for _, d := range missing {
			if !slices.Contains(rec.Created, d) {
				rec.Created = append(rec.Created, d)
			}
		}
		rec.Written[e.path] = sum(e.content)
		rec.Pending[e.path] = prev
		if err := m.save(w.manifest); err != nil {
			return err
		}
		if err := pl.write(e, missing); err != nil {
			return err
		}
		delete(rec.Pending, e.path)
		rep.Written = append(rep.Written, show(t, e.path))
		if c.restore {
			rep.Restored = append(rep.Restored, show(t, e.path))
			log.Warn("browser policy restored: vcguard's content had been changed or removed", "path", show(t, e.path))
		} else {
			log.Info("browser policy written", "path", show(t, e.path))
		}
	}

	// Remove what vcguard wrote and no longer wants, the shallowest first:
	// a registry flag such as VideoCaptureAllowed goes before its list.
	var gone []string
	for p := range rec.Written {
		if !wanted[p] {
			gone = append(gone, p)
		}
	}
	slices.SortFunc(gone, func(a, b string) int {
		if d := pl.depth(a) - pl.depth(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	for _, p := range gone {
		if cur[p].exists {
			if err := pl.remove(p); err != nil {
				return err
			}
			rep.Removed = append(rep.Removed, show(t, p))
			log.Info("browser policy removed", "path", show(t, p))
		}
		delete(rec.Written, p)
		delete(rec.Pending, p)
	}

	// Remove the directories or keys vcguard created that nothing it
	// writes lives under any more, when empty; the deepest first.
	keep := rec.Created[:0:0]
	for i := len(rec.Created) - 1; i >= 0; i-- {
		d := rec.Created[i]
		needed := slices.ContainsFunc(slices.Collect(maps.Keys(rec.Written)), func(p string) bool { return pl.under(p, d) })
		if !needed {
			removed, err := pl.removeEmpty(d)
			if err != nil {
				return err
			}
			if removed {
				rep.Removed = append(rep.Removed, show(t, d))
				log.Info("browser policy container removed", "path", show(t, d))
				continue
			}
			if !pl.exists(d) {
				continue
			}
			log.Info("browser policy container left in place: not empty", "path", show(t, d))
		}
		keep = append(keep, d)
	}
	slices.Reverse(keep)
	rec.Created = keep
	return m.save(w.manifest)
}

func (w *Writer) skip(rep *Report, log *slog.Logger, t Target, reason string) error {
	rep.Skipped = append(rep.Skipped, Skip{Target: t.Name, Reason: reason})
	log.Warn("browser policy skipped", "reason", reason)
	return nil
}

// show is how reports name a path.
func show(t Target, p string) string {
	if t.Format.registry() {
		return `HKLM\` + p
	}
	return p
}

// place is where a target's entries live: files in directories, or
// values in registry keys. Paths are what the manifest records.
type place interface {
	// check refuses a path vcguard must not write or remove (a symbolic
	// link, a directory others may write).
	check(path string) error
	// read returns the entry's content; ok is false when it is absent.
	read(path string) (content []byte, ok bool, err error)
	// missing lists the containers (directories, keys) that writing path
	// would create, parents first.
	missing(path string) ([]string, error)
	// write creates the missing containers and writes the entry.
	write(e entry, missing []string) error
	// remove removes the entry.
	remove(path string) error
	// removeEmpty removes the container when it is empty.
	removeEmpty(container string) (bool, error)
	// exists reports whether a container exists.
	exists(container string) bool
	// under reports whether path lies in container.
	under(path, container string) bool
	// depth is path's number of separators.
	depth(path string) int
}

func placeFor(f Format) (place, error) {
	switch f {
	case ChromiumFile, FirefoxFile:
		return files{}, nil
	case ChromiumRegistry, FirefoxRegistry:
		return newRegistry()
	}
	return nil, fmt.Errorf("format %q has no place to write", f)
}
