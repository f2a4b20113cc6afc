package posture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/pierrec/lz4/v4"
	"github.com/vcguard/vcguard/policies"
	"pault.ag/go/debian/version"
)

// Defaults of Reader.DpkgStatus and Reader.AptLists.
const (
	DefaultDpkgStatus = "/var/lib/dpkg/status"
	DefaultAptLists   = "/var/lib/apt/lists"
)

// Bounds on the package files: a Debian main Packages list is about 50 MB
// uncompressed; dpkg's status a few MB.
const (
	maxStanzaLine     = 1 << 20   // one line (a long Description or Depends)
	maxStanzaBytes    = 4 << 20   // one stanza
	maxPackagesBytes  = 512 << 20 // one list or status file, decompressed
	ctxCheckEvery     = 256       // stanzas between looks at the context
	maxListsPerReader = 256       // list files read
)

// stanza is one paragraph of a Debian control file: the fields asked for.
type stanza map[string]string

// parseStanzas reads Debian control-file paragraphs (dpkg status, apt
// Packages lists): "Field: value" lines, continuation lines starting with a
// space or tab, paragraphs separated by blank lines. Only the fields named
// in want are kept (by their canonical case); fn gets each paragraph and
// the line it starts on, in a map that is reused once fn returns. A malformed line is an error naming the line,
// never its text.
func parseStanzas(ctx context.Context, r io.Reader, want []string, fn func(s stanza, line int) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxStanzaLine)
	cur := stanza{}
	start, n, size, count := 0, 0, 0, 0
	var last string // the field a continuation line continues; "" if not kept
	inStanza := false
	flush := func() error {
		if !inStanza {
			return nil
		}
		inStanza = false
		count++
		if count%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		err := fn(cur, start)
		clear(cur)
		size, last = 0, ""
		return err
	}
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		size += len(line) + 1
		if size > maxStanzaBytes {
			return fmt.Errorf("line %d: paragraph larger than %d bytes", n, maxStanzaBytes)
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !inStanza {
				return fmt.Errorf("line %d: continuation line before any field", n)
			}
			if last != "" {
				cur[last] += "\n" + strings.TrimSpace(string(line))
			}
			continue
		}
		if line[0] == '#' && !inStanza {
			continue // comments are allowed in some control files
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return fmt.Errorf("line %d: neither \"Field: value\" nor a continuation", n)
		}
		if !inStanza {
			inStanza, start = true, n
		}
		name := line[:colon]
		last = ""
		for _, w := range want {
			if len(name) == len(w) && bytes.EqualFold(name, []byte(w)) {
				cur[w] = strings.TrimSpace(string(line[colon+1:]))
				last = w
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d: longer than %d bytes", n+1, maxStanzaLine)
		}
		return err
	}
	return flush()
}

// compareVersions orders two Debian versions as dpkg does (Debian Policy
// §5.6.12), with pault.ag/go/debian/version, a maintained port of dpkg's
// own verrevcmp.
func compareVersions(a, b string) (int, error) {
	va, err := version.Parse(a)
	if err != nil {
		return 0, fmt.Errorf("version %q: %w", a, err)
	}
	vb, err := version.Parse(b)
	if err != nil {
		return 0, fmt.Errorf("version %q: %w", b, err)
	}
	return version.Compare(va, vb), nil
}

// installedPackage is one package dpkg has installed.
type installedPackage struct {
	name, arch, version string
}

// installedPackages reads dpkg's status file for the packages named in
// wanted: those whose Status is "install ok installed" (also hold).
func installedPackages(ctx context.Context, path string, wanted map[string]bool) ([]installedPackage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []installedPackage
	err = parseStanzas(ctx, &boundedReader{r: f, left: maxPackagesBytes}, []string{"Package", "Status", "Architecture", "Version"}, func(s stanza, _ int) error {
		if !wanted[s["Package"]] {
			return nil
		}
		st := strings.Fields(s["Status"])
		if len(st) != 3 || st[2] != "installed" {
			return nil
		}
		out = append(out, installedPackage{name: s["Package"], arch: s["Architecture"], version: s["Version"]})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// aptListFiles are the Packages lists of dir that can be read: plain,
// .lz4 and .gz (apt's other compressions, .xz and .zst, are skipped). A
// list kept in several forms is read once.
func aptListFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	byBase := map[string]string{}
	rank := map[string]int{"": 3, ".lz4": 2, ".gz": 1}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		ext := extOf(name)
		base := strings.TrimSuffix(name, ext)
		if !strings.HasSuffix(base, "_Packages") {
			continue
		}
		if old, ok := byBase[base]; !ok || rank[ext] > rank[extOf(old)] {
			byBase[base] = name
		}
	}
	out := make([]string, 0, len(byBase))
	for _, name := range byBase {
		out = append(out, filepath.Join(dir, name))
	}
	sort.Strings(out)
	if len(out) > maxListsPerReader {
		out = out[:maxListsPerReader]
	}
	return out, nil
}

func extOf(name string) string {
	switch e := filepath.Ext(name); e {
	case ".lz4", ".gz":
		return e
	}
	return ""
}

// openList opens a Packages list, decompressing .lz4 (LZ4 frames, as apt
// writes them) and .gz.
func openList(path string) (io.Reader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	switch extOf(path) {
	case ".lz4":
		return lz4.NewReader(f), f, nil
	case ".gz":
		z, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("%s: not gzip: %w", path, err)
		}
		return z, f, nil
	}
	return f, f, nil
}

// Outdated compares, for each package of packages that dpkg has installed,
// the installed version with the highest version the local apt lists offer
// for its architecture (or "all"), and returns a reading for each one that
// is older: Where is the package, Detail "installed X, offered Y". Nothing
// is fetched: the lists are as fresh as the last apt update. A package not
// installed, or not in any list, gives no reading. A list that cannot be
// read gives an error and the others are still read.
func (r *Reader) Outdated(ctx context.Context, packages []string) ([]policies.PostureReading, []error) {
	statusPath, listsDir := r.DpkgStatus, r.AptLists
	if statusPath == "" {
		statusPath = DefaultDpkgStatus
	}
	if listsDir == "" {
		listsDir = DefaultAptLists
	}
	wanted := map[string]bool{}
	for _, p := range packages {
		wanted[p] = true
	}
	if len(wanted) == 0 {
		return nil, nil
	}
	inst, err := installedPackages(ctx, statusPath, wanted)
	if err != nil {
		if notExist(err) {
			return nil, nil // no dpkg here
		}
		return nil, []error{fmt.Errorf("outdated_package: %w", err)}
	}
	if len(inst) == 0 {
		return nil, nil
	}
	arches := map[string][]string{} // package -> installed architectures
	for _, p := range inst {
		arches[p.name] = append(arches[p.name], p.arch)
	}
	best := map[[2]string]string{} // (package, arch) -> highest offered version
	var errs []error
	lists, err := aptListFiles(listsDir)
	if err != nil && !notExist(err) {
		errs = append(errs, fmt.Errorf("outdated_package: %w", err))
	}
	for _, path := range lists {
		if err := readList(ctx, path, arches, best); err != nil {
			if ctx.Err() != nil {
				return nil, append(errs, ctx.Err())
			}
			errs = append(errs, fmt.Errorf("outdated_package: %w", err))
		}
	}
	var out []policies.PostureReading
	for _, p := range inst {
		cands := []string{best[[2]string{p.name, p.arch}], best[[2]string{p.name, "all"}]}
		offer := ""
		for _, c := range cands {
			if c == "" {
				continue
			}
			if offer == "" {
				offer = c
			} else if cmp, err := compareVersions(c, offer); err == nil && cmp > 0 {
				offer = c
			}
		}
		if offer == "" {
			continue
		}
		cmp, err := compareVersions(p.version, offer)
		if err != nil {
			errs = append(errs, fmt.Errorf("outdated_package %s: installed %w", p.name, err))
			continue
		}
		if cmp < 0 {
			out = append(out, policies.PostureReading{
				Kind: policies.PostureOutdated, Where: p.name,
				Detail: fmt.Sprintf("installed %s, offered %s", p.version, offer),
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Where < out[j].Where })
	return out, errs
}

// readList reads one Packages list and raises best[(package, arch)] for the
// packages in arches. A stanza whose version does not parse is skipped.
func readList(ctx context.Context, path string, arches map[string][]string, best map[[2]string]string) error {
	rd, closer, err := openList(path)
	if err != nil {
		return err
	}
	defer closer.Close()
	err = parseStanzas(ctx, &boundedReader{r: rd, left: maxPackagesBytes}, []string{"Package", "Architecture", "Version"}, func(s stanza, _ int) error {
		as, ok := arches[s["Package"]]
		if !ok {
			return nil
		}
		arch := s["Architecture"]
		if arch != "all" && !slices.Contains(as, arch) {
			return nil
		}
		k := [2]string{s["Package"], arch}
		if old := best[k]; old == "" {
			if _, err := version.Parse(s["Version"]); err == nil {
				best[k] = s["Version"]
			}
		} else if cmp, err := compareVersions(s["Version"], old); err == nil && cmp > 0 {
			best[k] = s["Version"]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// errTooLarge: a file, once decompressed, is over its bound.
var errTooLarge = fmt.Errorf("refused: larger than %d bytes", maxPackagesBytes)

// boundedReader reads at most left bytes and then fails (where
// io.LimitReader would end quietly and hide the rest of a list).
type boundedReader struct {
	r    io.Reader
	left int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte tells a file of exactly the bound from a larger one.
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}
