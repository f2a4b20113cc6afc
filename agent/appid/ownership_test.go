package appid

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// fakeMetaFS is a file tree in a map: path → meta (and link target).
type fakeMetaFS map[string]fakeFile

type fakeFile struct {
	uid    uint32
	mode   fs.FileMode
	target string
}

func (f fakeMetaFS) lstat(name string) (fileMeta, error) {
	e, ok := f[name]
	if !ok {
		return fileMeta{}, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return fileMeta{uid: e.uid, mode: e.mode}, nil
}

func (f fakeMetaFS) readlink(name string) (string, error) {
	e, ok := f[name]
	if !ok || e.mode&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return e.target, nil
}

const (
	dir755  = fs.ModeDir | 0o755
	file755 = 0o755
	link    = fs.ModeSymlink | 0o777
)

// mergedUsrTree is a root-owned system with /bin -> usr/bin.
func mergedUsrTree() fakeMetaFS {
	return fakeMetaFS{
		"/":                       {0, dir755, ""},
		"/usr":                    {0, dir755, ""},
		"/usr/bin":                {0, dir755, ""},
		"/usr/bin/zoom":           {0, file755, ""},
		"/bin":                    {0, link, "usr/bin"},
		"/opt":                    {0, dir755, ""},
		"/opt/zoom":               {0, dir755, ""},
		"/opt/zoom/zoom":          {0, file755, ""},
		"/opt/zoom/ZoomLauncher":  {0, link, "/opt/zoom/zoom"},
		"/opt/zoom/up":            {0, link, "../../.."},
		"/opt/loop":               {0, link, "/opt/loop"},
		"/home":                   {0, dir755, ""},
		"/home/u":                 {1000, dir755, ""},
		"/home/u/zoom":            {1000, file755, ""},
		"/tmp":                    {0, fs.ModeDir | fs.ModeSticky | 0o777, ""},
		"/tmp/zoom":               {0, file755, ""},
		"/srv":                    {0, fs.ModeDir | 0o775, ""},
		"/srv/zoom":               {0, file755, ""},
		"/usr/bin/group-writable": {0, 0o775, ""},
		"/usr/bin/user-owned":     {1000, file755, ""},
		"/usr/bin/dir":            {0, dir755, ""},
		"/usr/bin/to-home":        {0, link, "/home/u/zoom"},
	}
}

func TestResolveInRoot(t *testing.T) {
	fsys := mergedUsrTree()
	tests := []struct {
		p, want, wantErr string
	}{
		{p: "/bin/zoom", want: "/usr/bin/zoom"},
		{p: "/usr/bin/zoom", want: "/usr/bin/zoom"},
		{p: "/opt/zoom/ZoomLauncher", want: "/opt/zoom/zoom"},
		{p: "/opt/zoom/up/usr/bin/zoom", want: "/usr/bin/zoom"}, // .. stops at /
		{p: "/usr/../bin/./zoom", want: "/usr/bin/zoom"},
		{p: "/", want: "/"},
		{p: "/bin", want: "/usr/bin"},
		{p: "/opt/loop", wantErr: "more than 40 symlinks"},
		{p: "/usr/bin/zoom/x", wantErr: "is not a directory"},
		{p: "/nope/zoom", wantErr: "not exist"},
		{p: "bin/zoom", wantErr: "not an absolute path"},
	}
	for _, tt := range tests {
		got, err := resolveInRoot(fsys, "", tt.p)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("resolveInRoot(%q) err = %v; want %q", tt.p, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("resolveInRoot(%q) = %q, %v; want %q", tt.p, got, err, tt.want)
		}
	}
}

// TestResolveInRootStaysInRoot: with a root, absolute targets and ".."
// resolve inside it.
func TestResolveInRootStaysInRoot(t *testing.T) {
	fsys := fakeMetaFS{}
	for p, f := range mergedUsrTree() {
		fsys[strings.TrimSuffix("/fake"+p, "/")] = f
	}
	for p, want := range map[string]string{
		"/bin/zoom":                 "/usr/bin/zoom",
		"/opt/zoom/ZoomLauncher":    "/opt/zoom/zoom",
		"/opt/zoom/up/usr/bin/zoom": "/usr/bin/zoom",
	} {
		got, err := resolveInRoot(fsys, "/fake", p)
		if err != nil || got != want {
			t.Errorf("resolveInRoot(/fake, %q) = %q, %v; want %q", p, got, err, want)
		}
	}
}

func TestCheckRootOwned(t *testing.T) {
	fsys := mergedUsrTree()
	tests := []struct {
		p, wantErr string
	}{
		{p: "/usr/bin/zoom"},
		{p: "/bin/zoom"},
		{p: "/opt/zoom/ZoomLauncher"},
		{p: "/home/u/zoom", wantErr: "/home/u/zoom is owned by uid 1000"},
		{p: "/usr/bin/to-home", wantErr: "/home/u/zoom is owned by uid 1000"},
		{p: "/usr/bin/user-owned", wantErr: "owned by uid 1000"},
		{p: "/usr/bin/group-writable", wantErr: "/usr/bin/group-writable is writable by group or others"},
		{p: "/tmp/zoom", wantErr: "/tmp is writable by group or others"}, // sticky does not help
		{p: "/srv/zoom", wantErr: "/srv is writable by group or others"},
		{p: "/usr/bin/dir", wantErr: "not a regular file"},
		{p: "/usr/bin/missing", wantErr: "not exist"},
	}
	for _, tt := range tests {
		err := checkRootOwned(fsys, "", tt.p)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("checkRootOwned(%q) = %v", tt.p, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("checkRootOwned(%q) = %v; want %q", tt.p, err, tt.wantErr)
		}
		if strings.Contains(tt.wantErr, "owned by") || strings.Contains(tt.wantErr, "writable") {
			if !errors.Is(err, errNotProtected) {
				t.Errorf("checkRootOwned(%q): %v is not errNotProtected", tt.p, err)
			}
		}
	}
}
