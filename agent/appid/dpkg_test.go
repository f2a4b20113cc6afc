package appid

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/dpkg/status is this machine's /var/lib/dpkg/status (Debian 12)
// trimmed to 23 stanzas; wget's Status was edited to "deinstall ok
// config-files" to have a removed package that kept its conffiles.
func TestParseDpkgStatusFixture(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "dpkg", "status"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pkgs, err := ParseDpkgStatus(f)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want DpkgPackage
	}{
		{"bash", DpkgPackage{"bash", "install ok installed", "5.2.15-2+b8", "amd64"}},       // Conffiles block
		{"tzdata", DpkgPackage{"tzdata", "install ok installed", "2025b-0+deb12u2", "all"}}, // multi-line Description
		{"git", DpkgPackage{"git", "install ok installed", "1:2.39.5-0+deb12u3", "amd64"}},  // epoch
		{"libc6", DpkgPackage{"libc6", "install ok installed", "2.36-9+deb12u14", "amd64"}},
		{"libc6:amd64", DpkgPackage{"libc6", "install ok installed", "2.36-9+deb12u14", "amd64"}},
		{"osslsigncode", DpkgPackage{"osslsigncode", "install ok installed", "2.9-1~bpo12+1", "amd64"}},
	}
	for _, tt := range tests {
		if got := pkgs[tt.key]; got != tt.want {
			t.Errorf("%s = %+v; want %+v", tt.key, got, tt.want)
		}
	}
	if p, ok := pkgs["wget"]; ok {
		t.Errorf("wget (deinstall ok config-files) counted as installed: %+v", p)
	}
	names := 0
	for k := range pkgs {
		if !strings.Contains(k, ":") {
			names++
		}
	}
	if names != 22 {
		t.Errorf("%d installed packages; want 22", names)
	}
}

func TestParseDpkgStatus(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string // name → version
		wantErr string
	}{
		{
			name: "CRLF, blank lines of spaces, no final newline",
			in:   "Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\n \t\r\nPackage: b\r\nStatus: install ok installed\r\nVersion: 2",
			want: map[string]string{"a": "1", "b": "2"},
		},
		{
			name: "held package is installed, half-installed is not",
			in:   "Package: a\nStatus: hold ok installed\nVersion: 1\n\nPackage: b\nStatus: install reinstreq half-installed\nVersion: 2\n",
			want: map[string]string{"a": "1"},
		},
		{
			name: "field names are case-insensitive",
			in:   "package: a\nstatus: install ok installed\nversion: 3\n",
			want: map[string]string{"a": "3"},
		},
		{
			name: "several blank lines between stanzas",
			in:   "\n\nPackage: a\nStatus: install ok installed\nVersion: 1\n\n\n\nPackage: b\nStatus: purge ok not-installed\n\n",
			want: map[string]string{"a": "1"},
		},
		{name: "empty", in: "", want: map[string]string{}},
		{
			name:    "continuation line first",
			in:      " continued\nPackage: a\n",
			wantErr: "dpkg status line 1: continuation line outside a field",
		},
		{
			name:    "continuation after a blank line",
			in:      "Package: a\nStatus: install ok installed\n\n  orphan\n",
			wantErr: "line 4: continuation line outside a field",
		},
		{
			name:    "no colon",
			in:      "Package: a\nStatus: install ok installed\nthis is not a field\n",
			wantErr: `line 3: expected "Field: value"`,
		},
		{
			name:    "field name with a space",
			in:      "Package: a\nBad Name: x\n",
			wantErr: "line 2: bad field name",
		},
		{
			name:    "empty field name",
			in:      "Package: a\n: x\n",
			wantErr: "line 2: bad field name",
		},
		{
			name:    "stanza without Package",
			in:      "Package: a\n\nStatus: install ok installed\nVersion: 1\n",
			wantErr: "stanza starting at line 3 has no Package field",
		},
		{
			name:    "line too long",
			in:      "Package: a\nDescription: " + strings.Repeat("x", maxDpkgLine+1) + "\n",
			wantErr: "line 2: longer than",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkgs, err := ParseDpkgStatus(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for k, p := range pkgs {
				got[k] = p.Version
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %v; want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q; want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestParseDpkgStatusMultiArch(t *testing.T) {
	in := "Package: libfoo\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n\n" +
		"Package: libfoo\nStatus: install ok installed\nArchitecture: i386\nVersion: 1\n"
	pkgs, err := ParseDpkgStatus(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if pkgs["libfoo"].Architecture != "amd64" || pkgs["libfoo:i386"].Architecture != "i386" || pkgs["libfoo:amd64"].Architecture != "amd64" {
		t.Errorf("multi-arch: %+v", pkgs)
	}
}

func TestDpkgListHas(t *testing.T) {
	bashList := string(readTestdata(t, "dpkg/info/bash.list"))
	libcList := string(readTestdata(t, "dpkg/info/libc6_amd64.list"))
	mergedUsr := func(dir string) string { // this machine: /bin -> usr/bin, /lib -> usr/lib
		for _, top := range []string{"/bin", "/sbin", "/lib", "/lib64"} {
			if dir == top || strings.HasPrefix(dir, top+"/") {
				return "/usr" + dir
			}
		}
		return dir
	}
	tests := []struct {
		name    string
		list, p string
		resolve func(string) string
		want    bool
	}{
		{"listed as is", bashList, "/bin/bash", nil, true},
		{"merged /usr: kernel path /usr/bin/bash, list says /bin/bash", bashList, "/usr/bin/bash", mergedUsr, true},
		{"merged /usr needs the resolver", bashList, "/usr/bin/bash", nil, false},
		{"other package's file", bashList, "/usr/bin/ls", mergedUsr, false},
		{"same base name elsewhere", bashList, "/opt/evil/bash", mergedUsr, false},
		{"directories are listed too", bashList, "/bin", nil, true},
		{"multi-arch list", libcList, "/usr/lib/x86_64-linux-gnu/libc.so.6", mergedUsr, true},
		{"prefix is not a match", bashList, "/bin/bas", nil, false},
		{"empty list", "", "/bin/bash", mergedUsr, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dpkgListHas(strings.NewReader(tt.list), tt.p, tt.resolve)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("dpkgListHas(%q) = %v; want %v", tt.p, got, tt.want)
			}
		})
	}
	if _, err := dpkgListHas(strings.NewReader(strings.Repeat("x", maxDpkgLine+1)), "/x", nil); err == nil {
		t.Error("overlong line: no error")
	}
}

func TestValidDebName(t *testing.T) {
	for name, want := range map[string]bool{
		"zoom": true, "libc6": true, "g++": true, "teams-for-linux": true, "signal-desktop": true, "a.b": true,
		"": false, "a": false, "Zoom": false, "../etc": false, "zoom/x": false, "-zoom": false, "zo om": false, "zoom:amd64": false,
	} {
		if got := validDebName(name); got != want {
			t.Errorf("validDebName(%q) = %v", name, got)
		}
	}
}

func TestDpkgStatusCache(t *testing.T) {
	status := []byte("Package: zoom\nStatus: install ok installed\nVersion: 1\n\nPackage: slack\nStatus: install ok installed\nVersion: 2\n")
	opens := 0
	open := func() (io.ReadCloser, error) {
		opens++
		return io.NopCloser(bytes.NewReader(status)), nil
	}
	var c dpkgStatusCache
	st := fileStamp{size: 1, mtime: 1}
	steps := []struct {
		name      string
		stamp     fileStamp
		wantVer   string
		wantOpens int
	}{
		{"zoom", st, "1", 1},
		{"zoom", st, "1", 1},                 // cached
		{"slack", st, "2", 2},                // new name: parse again
		{"zoom", st, "1", 2},                 // both cached now
		{"missing", st, "", 3},               // new name
		{"missing", st, "", 3},               // negative answer cached
		{"zoom", fileStamp{size: 2}, "1", 4}, // file changed
	}
	for i, s := range steps {
		p, _, err := c.lookup(s.name, s.stamp, open)
		if err != nil {
			t.Fatal(err)
		}
		if p.Version != s.wantVer || opens != s.wantOpens {
			t.Errorf("step %d (%s): version %q, %d opens; want %q, %d", i, s.name, p.Version, opens, s.wantVer, s.wantOpens)
		}
	}
	if len(c.pkgs) > 2 {
		t.Errorf("cache holds %d entries; want only the names asked", len(c.pkgs))
	}
}
