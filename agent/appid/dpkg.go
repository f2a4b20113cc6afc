package appid

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
)

// maxDpkgLine bounds one line of dpkg's status or .list files.
const maxDpkgLine = 1 << 20

// DpkgPackage is one installed package in dpkg's status file.
type DpkgPackage struct {
	Package      string
	Status       string // "install ok installed" (or "hold ok installed")
	Version      string
	Architecture string
}

// ParseDpkgStatus reads dpkg's status file (/var/lib/dpkg/status) and
// returns the installed packages keyed by name. Each is also keyed as
// NAME:ARCH, which tells co-installed architectures of a multi-arch package
// apart (the plain name keeps the first). Packages whose status is not
// "installed" (removed, config-files, half-installed, …) are left out. A
// malformed file is an error naming the line.
func ParseDpkgStatus(r io.Reader) (map[string]DpkgPackage, error) {
	return parseDpkgStatus(r, nil)
}

// parseDpkgStatus is ParseDpkgStatus keeping only the packages want accepts
// (all when want is nil), so the agent holds a few entries, not thousands.
func parseDpkgStatus(r io.Reader, want func(name string) bool) (map[string]DpkgPackage, error) {
	pkgs := make(map[string]DpkgPackage)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxDpkgLine)
	var (
		line      int
		start     int    // first line of the current stanza, 0 between stanzas
		field     string // current field, for continuation lines
		cur       DpkgPackage
		malformed = func(format string, args ...any) error {
			return fmt.Errorf("dpkg status line %d: %s", line, fmt.Sprintf(format, args...))
		}
	)
	end := func() error {
		if start == 0 {
			return nil
		}
		if cur.Package == "" {
			return fmt.Errorf("dpkg status: the stanza starting at line %d has no Package field", start)
		}
		if dpkgInstalled(cur.Status) && (want == nil || want(cur.Package)) {
			if _, ok := pkgs[cur.Package]; !ok {
				pkgs[cur.Package] = cur
			}
			if cur.Architecture != "" {
				pkgs[cur.Package+":"+cur.Architecture] = cur
			}
		}
		start, field, cur = 0, "", DpkgPackage{}
		return nil
	}
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimLeft(text, " \t") == "" {
			if err := end(); err != nil {
				return nil, err
			}
			continue
		}
		if text[0] == ' ' || text[0] == '\t' {
			if field == "" {
				return nil, malformed("continuation line outside a field: %q", clip(text))
			}
			continue // Description, Conffiles, …: nothing the agent needs
		}
		name, value, ok := strings.Cut(text, ":")
		if !ok {
			return nil, malformed("expected \"Field: value\", got %q", clip(text))
		}
		if name == "" || strings.ContainsAny(name, " \t") {
			return nil, malformed("bad field name %q", clip(name))
		}
		if start == 0 {
			start = line
		}
		field = name
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(name, "Package"):
			cur.Package = value
		case strings.EqualFold(name, "Status"):
			cur.Status = value
		case strings.EqualFold(name, "Version"):
			cur.Version = value
		case strings.EqualFold(name, "Architecture"):
			cur.Architecture = value
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("dpkg status line %d: longer than %d bytes", line+1, maxDpkgLine)
		}
		return nil, fmt.Errorf("dpkg status: read after line %d: %w", line, err)
	}
	if err := end(); err != nil {
		return nil, err
	}
	return pkgs, nil
}

// dpkgInstalled says whether a Status value ("want flag state") means the
// package is installed. A held package ("hold ok installed") is installed.
func dpkgInstalled(status string) bool {
	f := strings.Fields(status)
	return len(f) == 3 && (f[0] == "install" || f[0] == "hold") && f[1] == "ok" && f[2] == "installed"
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// dpkgListHas says whether a dpkg .list file (one path per line) lists p.
// When resolveDir is not nil, a listed path with p's base name also matches
// when its directory resolves to the same place as p's: on merged-/usr
// systems a package lists /bin/bash while the kernel reports /usr/bin/bash.
func dpkgListHas(list io.Reader, p string, resolveDir func(dir string) string) (bool, error) {
	base := path.Base(p)
	resolved := ""
	if resolveDir != nil {
		resolved = path.Join(resolveDir(path.Dir(p)), base)
	}
	sc := bufio.NewScanner(list)
	sc.Buffer(make([]byte, 0, 4096), maxDpkgLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r\n")
		if line == p || (resolved != "" && line == resolved) {
			return true, nil
		}
		if resolveDir != nil && path.Base(line) == base && strings.HasPrefix(line, "/") &&
			path.Join(resolveDir(path.Dir(line)), base) == resolved {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("dpkg file list line %d: %w", n+1, err)
	}
	return false, nil
}

// validDebName says whether name is a Debian package name (policy 5.6.1),
// which also makes it safe to put in a file name.
func validDebName(name string) bool {
	if len(name) < 2 || len(name) > 128 {
		return false
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case i > 0 && (r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// dpkgArch maps GOARCH to dpkg's architecture name, used in the file names
// of multi-arch packages (info/NAME:ARCH.list).
func dpkgArch(goarch string) string {
	switch goarch {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	case "ppc64le":
		return "ppc64el"
	case "mips64le":
		return "mips64el"
	}
	return goarch // amd64, arm64, riscv64, s390x, loong64
}

// dpkgStatusCache holds the candidate packages' entries of dpkg's status
// file, valid while the file's size and mtime do not change.
type dpkgStatusCache struct {
	mu    sync.Mutex
	stamp fileStamp
	asked map[string]bool // names looked up in the last parse
	pkgs  map[string]DpkgPackage
}

// lookup returns the installed package name from the status file at file,
// parsing the file again only when it changed or name was not asked before.
// open and stat are the file-system calls (the Inspector's, under Root).
func (c *dpkgStatusCache) lookup(name string, stamp fileStamp, open func() (io.ReadCloser, error)) (DpkgPackage, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.asked != nil && c.stamp == stamp && c.asked[name] {
		p, ok := c.pkgs[name]
		return p, ok, nil
	}
	asked := map[string]bool{name: true}
	if c.stamp == stamp {
		for n := range c.asked {
			asked[n] = true
		}
	}
	f, err := open()
	if err != nil {
		return DpkgPackage{}, false, err
	}
	defer f.Close()
	pkgs, err := parseDpkgStatus(f, func(n string) bool { return asked[n] })
	if err != nil {
		return DpkgPackage{}, false, err
	}
	c.stamp, c.asked, c.pkgs = stamp, asked, pkgs
	p, ok := pkgs[name]
	return p, ok, nil
}
