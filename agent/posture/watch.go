package posture

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/vcguard/vcguard/policies"
)

// Bounds of the recording watcher: Zoom makes one subfolder per meeting,
// so a folder of years of meetings has thousands.
const (
	maxWatchedSubfolders = 4096
	maxRememberedFiles   = 8192
)

// WatchRecordings reports, while ctx lasts, each new file in a client's
// recording folder (check.Folder, a catalog path: "~/", an absolute path
// or a Windows known folder) or in one subfolder level below it (Zoom
// writes one subfolder per meeting). Each reading is Kind recording, Where
// the catalog's folder and Detail the file's path relative to the folder,
// with slashes; files are never opened. Files already there when the watch
// starts are not reported. A folder that does not exist yet, or goes away,
// is looked for every PollInterval. A folder that is a symbolic link or
// not the owner's is not watched (an error). It returns nil when ctx ends.
func (r *Reader) WatchRecordings(ctx context.Context, check policies.PostureCheck, owner Owner, report func(policies.PostureReading)) error {
	if check.Folder == "" {
		return errors.New("recording check names no folder")
	}
	dir, inHome, err := expandPath(thisOS, check.Folder, owner.Home, r.getenv, r.SystemRoot)
	if err != nil {
		return fmt.Errorf("recording folder %s: %w", check.Folder, err)
	}
	uid := 0
	if inHome {
		uid = owner.UID
	}
	w := &recordingWatch{dir: dir, uid: uid, where: check.Where(), report: report, seen: map[string]bool{}}
	for {
		if err := r.waitForDir(ctx, dir); err != nil {
			return nil // ctx ended
		}
		if err := w.run(ctx); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// waitForDir returns nil once dir is there, or ctx's error.
func (r *Reader) waitForDir(ctx context.Context, dir string) error {
	t := time.NewTicker(r.pollInterval())
	defer t.Stop()
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

type recordingWatch struct {
	dir     string
	uid     int
	where   string
	report  func(policies.PostureReading)
	seen    map[string]bool // files reported, so none is reported twice
	watched int
}

// run watches w.dir until ctx ends (nil) or the folder goes away (nil,
// to wait for it again); a folder that may not be watched is an error.
func (w *recordingWatch) run(ctx context.Context) error {
	fi, err := os.Lstat(w.dir)
	if err != nil {
		return nil // gone again: wait for it
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("recording folder %s: refused: is a symbolic link", w.dir)
	}
	if !ownedBy(fi, w.uid) {
		return fmt.Errorf("recording folder %s: refused: owned by neither the process owner nor root", w.dir)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("recording folder %s: %w", w.dir, err)
	}
	defer fw.Close()
	if err := fw.Add(w.dir); err != nil {
		if notExist(err) {
			return nil
		}
		return fmt.Errorf("watch %s: %w", w.dir, err)
	}
	w.watched = 0
	// Subfolders already there are watched; their files are not new.
	entries, _ := os.ReadDir(w.dir)
	for _, e := range entries {
		if e.IsDir() && e.Type()&fs.ModeSymlink == 0 {
			w.watchSub(fw, filepath.Join(w.dir, e.Name()), false)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err, ok := <-fw.Errors:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				continue // events were lost; new ones still come
			}
		case ev, ok := <-fw.Events:
			if !ok {
				return nil
			}
			if ev.Name == w.dir && ev.Has(fsnotify.Remove|fsnotify.Rename) {
				return nil // the folder went: wait for it again
			}
			if ev.Has(fsnotify.Create) {
				w.created(fw, ev.Name)
			}
		}
	}
}

// created handles a new entry: a subfolder of the folder is watched and
// the files already in it reported (they may have been written before the
// watch began); a regular file at either level is reported.
func (w *recordingWatch) created(fw *fsnotify.Watcher, path string) {
	rel, err := filepath.Rel(w.dir, path)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return
	}
	depth := len(strings.Split(filepath.ToSlash(rel), "/"))
	fi, err := os.Lstat(path)
	if err != nil {
		return
	}
	switch {
	case fi.IsDir() && depth == 1:
		w.watchSub(fw, path, true)
	case fi.Mode().IsRegular() && depth <= 2:
		w.file(rel)
	}
}

func (w *recordingWatch) watchSub(fw *fsnotify.Watcher, path string, reportFiles bool) {
	if w.watched >= maxWatchedSubfolders {
		return
	}
	if err := fw.Add(path); err != nil {
		return
	}
	w.watched++
	if !reportFiles {
		return
	}
	entries, _ := os.ReadDir(path)
	for _, e := range entries {
		if e.Type().IsRegular() {
			rel, err := filepath.Rel(w.dir, filepath.Join(path, e.Name()))
			if err == nil {
				w.file(rel)
			}
		}
	}
}

func (w *recordingWatch) file(rel string) {
	rel = filepath.ToSlash(rel)
	if w.seen[rel] {
		return
	}
	if len(w.seen) >= maxRememberedFiles {
		clear(w.seen)
	}
	w.seen[rel] = true
	w.report(policies.PostureReading{Kind: policies.PostureRecording, Where: w.where, Detail: rel})
}
