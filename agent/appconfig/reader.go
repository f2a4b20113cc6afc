package appconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// fileSource is one kind of file an app keeps its connection in.
type fileSource struct {
	// kind names the file for Connection.Source and errors.
	kind string
	// paths are the candidate locations, relative to the home directory.
	paths osPaths
	// read reads one candidate. It returns an error matching
	// fs.ErrNotExist when the candidate does not exist.
	read func(path string, uid int) (Connection, error)
}

// appReader reads an app's connection from every candidate location of
// every source and merges what it finds: an app installed twice (a
// distribution package and a Flatpak) is connected to both sets of servers.
type appReader struct {
	id      string
	sources []fileSource
}

func (r appReader) AppID() string { return r.id }

func (r appReader) Read(ctx context.Context, home string, uid int) (Connection, error) {
	c := Connection{AppID: r.id}
	var kinds []string
	candidates, found := 0, false
	for _, s := range r.sources {
		for _, rel := range s.paths.current() {
			candidates++
			if err := ctx.Err(); err != nil {
				return Connection{}, err
			}
			got, err := s.read(filepath.Join(home, filepath.FromSlash(rel)), uid)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return Connection{}, fmt.Errorf("%s: %w", r.id, err)
			}
			found = true
			c = merge(c, got)
			if !slices.Contains(kinds, s.kind) {
				kinds = append(kinds, s.kind)
			}
		}
	}
	if candidates == 0 {
		return Connection{}, fmt.Errorf("%s: no known configuration location on this OS: %w", r.id, ErrUnsupported)
	}
	if !found {
		return Connection{}, fmt.Errorf("%s: %w", r.id, ErrNotConfigured)
	}
	c.Source = strings.Join(kinds, ", ")
	return normalize(c), nil
}

// configFile reads a settings file with the size bound of settings files
// and hands its bytes to parse.
func configFile(parse func([]byte) (Connection, error)) func(string, int) (Connection, error) {
	return boundedConfigFile(maxConfigBytes, parse)
}

// boundedConfigFile is configFile with a tighter size bound, for formats
// whose decoder costs much more per byte than JSON or INI.
func boundedConfigFile(limit int64, parse func([]byte) (Connection, error)) func(string, int) (Connection, error) {
	return func(path string, uid int) (Connection, error) {
		b, err := readUserFile(path, uid, limit)
		if err != nil {
			return Connection{}, err
		}
		return parse(b)
	}
}

// decodeJSON decodes a JSON file into v and turns the standard library's
// errors into FormatErrors that name the field without quoting content.
func decodeJSON(kind string, b []byte, v any) error {
	err := json.Unmarshal(b, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return formatErr(kind, typeErr.Field, "is a JSON %s, want %s", typeErr.Value, typeErr.Type)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return formatErr(kind, "", "not JSON (syntax error at byte %d)", syntaxErr.Offset)
	}
	return formatErr(kind, "", "not JSON")
}

// addServer adds the host of a server URL found in field to c.
func addServer(c *Connection, kind, field, raw string) error {
	h, err := hostOf(raw)
	if err != nil {
		return &FormatError{Kind: kind, Field: field, Err: err}
	}
	c.Servers = append(c.Servers, h)
	return nil
}
