package appid

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Size limits for sandbox metadata read from a process's root.
const (
	maxFlatpakInfoSize = 64 << 10
	maxMetainfoSize    = 1 << 20
)

// FlatpakInfo is what /.flatpak-info inside a flatpak sandbox says
// (/proc/PID/root/.flatpak-info from outside).
type FlatpakInfo struct {
	Name           string // [Application] name (or [Runtime] name), e.g. us.zoom.Zoom
	Runtime        string // [Application] runtime, e.g. runtime/org.freedesktop.Platform/x86_64/23.08
	IsRuntime      bool   // the sandbox runs a runtime, not an app
	AppPath        string // [Instance] app-path: the deployed app's files/ directory on the host
	AppCommit      string // [Instance] app-commit
	Branch         string // [Instance] branch
	Arch           string // [Instance] arch
	FlatpakVersion string // [Instance] flatpak-version
}

// ParseFlatpakInfo decodes the GKeyFile .flatpak-info.
func ParseFlatpakInfo(data []byte) (FlatpakInfo, error) {
	if len(data) > maxFlatpakInfoSize {
		return FlatpakInfo{}, fmt.Errorf(".flatpak-info: %d bytes, more than the %d allowed", len(data), maxFlatpakInfoSize)
	}
	groups, err := parseKeyFile(data)
	if err != nil {
		return FlatpakInfo{}, fmt.Errorf(".flatpak-info: %w", err)
	}
	var fi FlatpakInfo
	if app, ok := groups["Application"]; ok {
		fi.Name, fi.Runtime = app["name"], app["runtime"]
	} else if rt, ok := groups["Runtime"]; ok {
		fi.Name, fi.Runtime, fi.IsRuntime = rt["name"], rt["runtime"], true
	}
	if fi.Name == "" {
		return FlatpakInfo{}, errors.New(".flatpak-info: no name in [Application] or [Runtime]")
	}
	inst := groups["Instance"]
	fi.AppPath = inst["app-path"]
	fi.AppCommit = inst["app-commit"]
	fi.Branch = inst["branch"]
	fi.Arch = inst["arch"]
	fi.FlatpakVersion = inst["flatpak-version"]
	return fi, nil
}

// parseKeyFile reads a GLib key file: [Group] headers, key=value lines,
// # comments. Localised keys (key[de]=) are skipped; values are unescaped.
func parseKeyFile(data []byte) (map[string]map[string]string, error) {
	groups := map[string]map[string]string{}
	var cur map[string]string
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimRight(line, "\r")
		t := strings.TrimSpace(line)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			continue
		case strings.HasPrefix(t, "["):
			if !strings.HasSuffix(t, "]") || len(t) < 3 {
				return nil, fmt.Errorf("line %d: bad group header %q", n, clip(t))
			}
			name := t[1 : len(t)-1]
			if strings.ContainsAny(name, "[]") {
				return nil, fmt.Errorf("line %d: bad group header %q", n, clip(t))
			}
			if groups[name] == nil {
				groups[name] = map[string]string{}
			}
			cur = groups[name]
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: expected key=value, got %q", n, clip(t))
		}
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, fmt.Errorf("line %d: empty key", n)
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: key %q before any [group]", n, clip(key))
		}
		if strings.Contains(key, "[") { // localised variant
			continue
		}
		if _, dup := cur[key]; !dup {
			cur[key] = unescapeKeyFile(strings.TrimLeft(value, " \t"))
		}
	}
	return groups, nil
}

func unescapeKeyFile(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i+1 == len(v) {
			b.WriteByte(v[i])
			continue
		}
		i++
		switch v[i] {
		case 's':
			b.WriteByte(' ')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		default:
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// ParseMetainfoVersion returns the newest release version in an AppStream
// metainfo (or legacy appdata) file: the <release> in <releases> with the
// latest timestamp or date, else the first listed (AppStream lists newest
// first).
func ParseMetainfoVersion(data []byte) (string, error) {
	if len(data) > maxMetainfoSize {
		return "", fmt.Errorf("metainfo: %d bytes, more than the %d allowed", len(data), maxMetainfoSize)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	var (
		stack    []string
		best     string
		bestTime int64 // 0: no time
		first    string
		sawRoot  bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, _ := d.InputPos()
			return "", fmt.Errorf("metainfo: line %d: %w", line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				if t.Name.Local != "component" && t.Name.Local != "application" {
					return "", fmt.Errorf("metainfo: root element is <%s>, not <component>", t.Name.Local)
				}
				sawRoot = true
			}
			if t.Name.Local == "release" && len(stack) == 2 && stack[1] == "releases" {
				var version, date, ts string
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "version":
						version = strings.TrimSpace(a.Value)
					case "date":
						date = a.Value
					case "timestamp":
						ts = a.Value
					}
				}
				if version != "" {
					if first == "" {
						first = version
					}
					if rt := releaseTime(ts, date); rt > bestTime {
						best, bestTime = version, rt
					}
				}
			}
			stack = append(stack, t.Name.Local)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if !sawRoot {
		return "", errors.New("metainfo: no <component> element")
	}
	if best != "" {
		return best, nil
	}
	if first != "" {
		return first, nil
	}
	return "", errors.New("metainfo: no <release version=…> in <releases>")
}

// releaseTime reads a release's timestamp (Unix seconds) or date
// (YYYY-MM-DD or RFC 3339); 0 when neither parses.
func releaseTime(ts, date string) int64 {
	if n, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64); err == nil && n > 0 {
		return n
	}
	date = strings.TrimSpace(date)
	for _, layout := range []string{"2006-01-02", time.RFC3339, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, date); err == nil && t.Unix() > 0 {
			return t.Unix()
		}
	}
	return 0
}
