// Package appid tells what an executable is: its identity (macOS bundle id
// and signing team, Windows Authenticode publisher, Linux owning package) and
// its version.
//
// The package is split the usual way: parsers for every format the agent
// meets (Info.plist, PE version resources and certificate tables, Mach-O code
// signatures, dpkg status and .list files, rpm query output, flatpak and snap
// metadata) carry no build tag and are tested on every OS; the glue that reads
// the running system lives in per-OS files behind the unexported
// (*Inspector).inspectOS hook (inspect_linux.go, inspect_darwin.go,
// inspect_windows.go, and inspect_other.go which reports "not implemented").
//
// Inspect gathers facts; Verify judges them against what the catalog says the
// genuine app looks like. Keeping the two apart lets the server re-judge
// recorded facts when the catalog changes.
package appid

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Info is what the agent learned about one executable.
type Info struct {
	Path      string // executable path as inspected
	BundleID  string // macOS: CFBundleIdentifier of the enclosing .app
	TeamID    string // macOS: code-signing team id
	Publisher string // Windows: Authenticode signer organisation (subject O, else CN)
	Package   string // Linux: owning package as "deb:NAME", "rpm:NAME", "flatpak:ID", "snap:NAME"
	Version   string // "" when unknown
	// Signed says the OS-level signature check passed (darwin codesign,
	// windows WinVerifyTrust); on Linux: the file is root-owned and neither
	// it nor a directory on its path is writable by group or others.
	Signed bool
	Reason string // when something could not be read or checked: a short human explanation
}

// addReason appends a short explanation to info.Reason.
func (info *Info) addReason(format string, args ...any) {
	r := fmt.Sprintf(format, args...)
	if info.Reason == "" {
		info.Reason = r
		return
	}
	info.Reason += "; " + r
}

// Candidate is what the catalog says the genuine app looks like on this OS.
// It is the subset of policies.Identity that identity checks need, duplicated
// here to keep the package free of the catalog.
type Candidate struct {
	Paths      []string
	BundleIDs  []string
	TeamIDs    []string
	Publishers []string
	// PackageFamilies are Microsoft Store package family names.
	PackageFamilies []string
	Packages        map[string][]string // by package system: deb, rpm, flatpak, snap
}

// fingerprint is a compact, order-independent rendering of the candidate,
// part of the cache key: the same file inspected for a changed catalog entry
// must be inspected again.
func (c Candidate) fingerprint() string {
	var b strings.Builder
	list := func(tag string, vs []string) {
		if len(vs) == 0 {
			return
		}
		s := slices.Clone(vs)
		slices.Sort(s)
		b.WriteString(tag)
		b.WriteByte('=')
		b.WriteString(strings.Join(s, "\x00"))
		b.WriteByte('\x01')
	}
	list("p", c.Paths)
	list("b", c.BundleIDs)
	list("t", c.TeamIDs)
	list("u", c.Publishers)
	list("f", c.PackageFamilies)
	systems := make([]string, 0, len(c.Packages))
	for sys := range c.Packages {
		systems = append(systems, sys)
	}
	slices.Sort(systems)
	for _, sys := range systems {
		list("k:"+sys, c.Packages[sys])
	}
	return b.String()
}

// packageNames returns the candidate's names for one package system.
func (c Candidate) packageNames(system string) []string {
	return c.Packages[system]
}

// maxCacheEntries bounds the inspection cache. Catalog apps have a handful of
// executables each, so this is far above what an agent meets.
const maxCacheEntries = 512

// fileStamp identifies one version of a file cheaply: what a stat returns.
// A file replaced by an update gets a new inode, size, mtime or ctime.
type fileStamp struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // Unix nanoseconds
}

type cacheKey struct {
	path      string
	candidate string
}

type cacheEntry struct {
	stamp fileStamp
	info  Info
}

type inflightKey struct {
	cacheKey
	stamp fileStamp
}

type inflightCall struct {
	done chan struct{}
	info Info
}

// Inspector inspects executables. Results are cached by the executable's
// path and (device, inode, size, mtime, ctime), so an app's many processes
// cost one inspection and the next ones a stat. Concurrent inspections of the
// same file wait for the first. Safe for concurrent use; the zero value
// inspects the real system.
type Inspector struct {
	// Root is the file-system root everything is read under ("" means "/").
	// Tests point it at a fake tree.
	Root string

	mu       sync.Mutex
	cache    map[cacheKey]cacheEntry
	inflight map[inflightKey]*inflightCall

	// dpkg caches the candidate packages' entries of the dpkg status file.
	dpkg dpkgStatusCache

	// runRPM runs rpm (tests replace it); nil means exec rpm if installed.
	runRPM func(ctx context.Context, path string) (string, error)

	// inspections counts cache misses (tests check the cache works).
	inspections atomic.Int64
}

// NewInspector returns an Inspector reading the file system under root
// ("" or "/" for the real system).
func NewInspector(root string) *Inspector {
	return &Inspector{Root: root}
}

// deletedSuffix is what Linux appends to /proc/PID/exe when the file was
// replaced or removed while the process runs (typically an app updated in
// place).
const deletedSuffix = " (deleted)"

// Inspect reads what the OS tells about the executable exe of process pid
// (pid matters on Linux: a flatpak app's metadata is found through
// /proc/PID/root). Only the candidate's package names are looked up; the
// package databases are never scanned as a whole. Inspect never fails: what
// could not be learned is explained in Info.Reason.
func (in *Inspector) Inspect(ctx context.Context, pid int32, exe string, c Candidate) Info {
	deleted := strings.HasSuffix(exe, deletedSuffix)
	exe = strings.TrimSuffix(exe, deletedSuffix)
	if exe == "" {
		return Info{Reason: "no executable path"}
	}
	stamp, err := in.statExe(pid, exe)
	if err != nil {
		return Info{Path: exe, Reason: fmt.Sprintf("cannot read the executable: %v", err)}
	}
	key := cacheKey{path: exe, candidate: c.fingerprint()}
	ikey := inflightKey{cacheKey: key, stamp: stamp}

	in.mu.Lock()
	if e, ok := in.cache[key]; ok && e.stamp == stamp {
		in.mu.Unlock()
		return withDeleted(e.info, deleted)
	}
	if call, ok := in.inflight[ikey]; ok {
		in.mu.Unlock()
		select {
		case <-call.done:
			return withDeleted(call.info, deleted)
		case <-ctx.Done():
			return Info{Path: exe, Reason: fmt.Sprintf("inspection cancelled: %v", ctx.Err())}
		}
	}
	if in.inflight == nil {
		in.inflight = make(map[inflightKey]*inflightCall)
	}
	call := &inflightCall{done: make(chan struct{})}
	in.inflight[ikey] = call
	in.mu.Unlock()

	in.inspections.Add(1)
	info := in.inspectOS(ctx, pid, exe, c)
	info.Path = exe

	// Cache only what is still true: the inspection was not cut short and
	// the file (and, on Linux, the process it was seen through) did not
	// change meanwhile.
	after, err := in.statExe(pid, exe)
	cacheable := ctx.Err() == nil && err == nil && after == stamp

	in.mu.Lock()
	delete(in.inflight, ikey)
	if cacheable {
		if in.cache == nil {
			in.cache = make(map[cacheKey]cacheEntry)
		}
		if _, ok := in.cache[key]; !ok && len(in.cache) >= maxCacheEntries {
			for k := range in.cache { // evict an arbitrary entry
				delete(in.cache, k)
				break
			}
		}
		in.cache[key] = cacheEntry{stamp: stamp, info: info}
	}
	in.mu.Unlock()
	call.info = info
	close(call.done)
	return withDeleted(info, deleted)
}

func withDeleted(info Info, deleted bool) Info {
	if deleted {
		info.addReason("the executable was replaced or removed while the process runs; facts describe the file now at that path")
	}
	return info
}

// statExe stats the executable, trying the paths stampPaths gives in order.
func (in *Inspector) statExe(pid int32, exe string) (fileStamp, error) {
	var firstErr error
	for _, p := range in.stampPaths(pid, exe) {
		fi, err := os.Stat(p)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if !fi.Mode().IsRegular() {
			return fileStamp{}, fmt.Errorf("%s is not a regular file", exe)
		}
		return statStamp(fi), nil
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("no path to stat for %s", exe)
	}
	return fileStamp{}, firstErr
}

// underRoot maps an absolute path of the inspected system to the path to
// open, under in.Root.
func (in *Inspector) underRoot(p string) string {
	return joinRoot(in.Root, p)
}
