package linuxpkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// debFile is one entry of a .deb's control or data archive.
type debFile struct {
	Name string
	Mode int64
	Uid  int
	Gid  int
	Type byte
	Data []byte
}

// debArchive is a .deb read back: its ar members, and the files of its
// control and data tarballs (gzip, as Build writes them).
type debArchive struct {
	Members []string
	Control map[string]debFile
	Data    []debFile
}

// readDeb reads a .deb (an ar archive: debian-binary, control.tar.gz,
// data.tar.gz) without dpkg, so the package's contents can be checked on
// any machine.
func readDeb(path string) (*debArchive, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(raw, []byte("!<arch>\n")) {
		return nil, fmt.Errorf("%s: not an ar archive", path)
	}
	d := &debArchive{Control: map[string]debFile{}}
	rest := raw[8:]
	for len(rest) > 0 {
		if len(rest) < 60 {
			return nil, fmt.Errorf("%s: truncated ar header", path)
		}
		hdr := rest[:60]
		name := strings.TrimSuffix(strings.TrimSpace(string(hdr[:16])), "/")
		size, err := strconv.Atoi(strings.TrimSpace(string(hdr[48:58])))
		if err != nil || size < 0 || 60+size > len(rest) {
			return nil, fmt.Errorf("%s: ar member %q: bad size", path, name)
		}
		body := rest[60 : 60+size]
		rest = rest[60+size:]
		if size%2 == 1 && len(rest) > 0 {
			rest = rest[1:]
		}
		d.Members = append(d.Members, name)
		switch name {
		case "control.tar.gz", "data.tar.gz":
			files, err := readTarGz(body)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, name, err)
			}
			if name == "data.tar.gz" {
				d.Data = files
				continue
			}
			for _, f := range files {
				d.Control[strings.TrimPrefix(f.Name, "./")] = f
			}
		}
	}
	return d, nil
}

func readTarGz(b []byte) ([]debFile, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	var out []debFile
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out = append(out, debFile{Name: h.Name, Mode: h.Mode, Uid: h.Uid, Gid: h.Gid, Type: h.Typeflag, Data: data})
	}
}

// file returns the data archive's entry for an absolute path.
func (d *debArchive) file(path string) (debFile, bool) {
	for _, f := range d.Data {
		if strings.TrimSuffix(strings.TrimPrefix(f.Name, "."), "/") == path {
			return f, true
		}
	}
	return debFile{}, false
}
