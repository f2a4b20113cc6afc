package appid

import (
	"bytes"
	"encoding/binary"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// Every parser here reads input an attacker may control (any user can run a
// crafted binary named Zoom.exe or fake a sandbox's metadata): none may
// panic, hang or allocate without bound. Seeds come from testdata/.

func addTestdataSeeds(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds for %s (%v)", pattern, err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func FuzzParseInfoPlist(f *testing.F) {
	addTestdataSeeds(f, "plist/*")
	f.Add([]byte(`{ CFBundleIdentifier = a; }`))
	f.Fuzz(func(t *testing.T, data []byte) {
		bi, err := ParseInfoPlist(data)
		if err == nil && bi == (BundleInfo{}) {
			t.Error("no error and nothing found")
		}
	})
}

func FuzzBundleRoot(f *testing.F) {
	for _, s := range []string{"/Applications/zoom.us.app/Contents/MacOS/zoom.us", "/a.app/Contents/MacOS/b.app/Contents/MacOS/c", "/x/../y.app/Contents/MacOS/z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, exe string) {
		root, ok := BundleRoot(exe)
		if !ok {
			return
		}
		if !strings.HasSuffix(root, ".app") || !strings.HasPrefix(path.Clean(exe), root+"/Contents/MacOS/") {
			t.Errorf("BundleRoot(%q) = %q", exe, root)
		}
	})
}

// compactPE rewrites a PE as its headers, resource section and certificate
// table only, pointers adjusted: what ParsePEInfo reads, in a few KB. A
// 1.2 MB seed would have the fuzzer mutate code bytes nobody reads (and
// spend its time minimizing).
func compactPE(data []byte) ([]byte, error) {
	l, err := readPELayout(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	opt := int(l.lfanew) + 24
	secTable := opt + int(le.Uint16(l.header[l.lfanew+20:]))
	out := append([]byte(nil), l.header...)
	out = append(out, make([]byte, (len(out)+0x1ff)&^0x1ff-len(out))...)
	le.PutUint32(out[l.lfanew+12:], 0) // no COFF symbols
	for i, s := range l.sections {
		h := out[secTable+40*i:]
		if l.resource.va < s.va || l.resource.va >= s.va+max(s.vsize, s.rawSize) {
			le.PutUint32(h[16:], 0) // SizeOfRawData
			le.PutUint32(h[20:], 0) // PointerToRawData
			continue
		}
		le.PutUint32(h[20:], uint32(len(out)))
		out = append(out, data[s.rawPtr:s.rawPtr+s.rawSize]...)
		out = append(out, make([]byte, (len(out)+7)&^7-len(out))...)
	}
	if l.security.va != 0 {
		le.PutUint32(out[l.dirOff+8*4:], uint32(len(out)))
		out = append(out, data[l.security.va:l.security.va+l.security.size]...)
	}
	return out, nil
}

func TestCompactPE(t *testing.T) {
	fixture := readTestdata(t, peFixture)
	small, err := compactPE(fixture)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParsePEInfo(bytes.NewReader(fixture), int64(len(fixture)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePEInfo(bytes.NewReader(small), int64(len(small)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != want.Version || got.Publisher != want.Publisher || got.CompanyName != want.CompanyName || len(got.Problems) > 0 {
		t.Errorf("compact copy (%d bytes) = %+v; want %+v", len(small), got, want)
	}
	if len(small) > 16<<10 {
		t.Errorf("compact copy is %d bytes", len(small))
	}
}

func FuzzParsePEInfo(f *testing.F) {
	fixture, err := os.ReadFile(filepath.Join("testdata", peFixture))
	if err != nil {
		f.Fatal(err)
	}
	small, err := compactPE(fixture)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small)
	f.Add(fixture[:min(len(fixture), 1024)]) // headers only
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ParsePEInfo(bytes.NewReader(data), int64(len(data)))
		if err != nil && (info.Version != "" || info.HasSignature) {
			t.Errorf("error %v with data %+v", err, info)
		}
	})
}

func FuzzParseVersionInfo(f *testing.F) {
	vi := testVersionInfo()
	f.Add(vi.Bytes())
	fixture, err := os.ReadFile(filepath.Join("testdata", peFixture))
	if err != nil {
		f.Fatal(err)
	}
	l, err := readPELayout(bytes.NewReader(fixture), int64(len(fixture)))
	if err != nil {
		f.Fatal(err)
	}
	blob, err := l.versionResource(bytes.NewReader(fixture))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(blob)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, _ := parseVersionInfo(data)
		for k, s := range v.strings {
			if !utf8.ValidString(k) || !utf8.ValidString(s) {
				t.Errorf("invalid UTF-8 in %q=%q", k, s)
			}
		}
	})
}

func FuzzParseCodeSignature(f *testing.F) {
	addTestdataSeeds(f, "macho/*")
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := ParseCodeSignature(bytes.NewReader(data))
		if err == nil && len(cs.Identifier)+len(cs.TeamID) > 2*maxCSString {
			t.Errorf("strings longer than the bound: %d", len(cs.Identifier)+len(cs.TeamID))
		}
	})
}

func FuzzParseDpkgStatus(f *testing.F) {
	addTestdataSeeds(f, "dpkg/status")
	addTestdataSeeds(f, "dpkg/info/*.list")
	f.Add([]byte("Package: a\nStatus: install ok installed\nVersion: 1\n Continued\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, err := ParseDpkgStatus(bytes.NewReader(data))
		if err == nil {
			for k, p := range pkgs {
				if p.Package == "" || !dpkgInstalled(p.Status) || (k != p.Package && k != p.Package+":"+p.Architecture) {
					t.Errorf("%q: %+v", k, p)
				}
			}
		}
		resolve := func(dir string) string { return strings.Replace(dir, "/bin", "/usr/bin", 1) }
		dpkgListHas(bytes.NewReader(data), "/usr/bin/zoom", resolve)
	})
}

func FuzzParseRpmQF(f *testing.F) {
	for _, s := range []string{
		"zoom\t(none):5.17.11-1\n", "teams\t1:1.5-1\nother\t(none):2-2\n",
		"file /x is not owned by any package\n", "", "\t:\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		name, version, err := ParseRpmQF(out)
		if err == nil && (name == "" || version == "") {
			t.Errorf("ParseRpmQF(%q) = %q, %q", out, name, version)
		}
	})
}

func FuzzParseFlatpakInfo(f *testing.F) {
	addTestdataSeeds(f, "flatpak/*.flatpak-info")
	f.Add([]byte("[Runtime]\nname=org.x\n[Instance]\nbranch=a\\sb\\\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fi, err := ParseFlatpakInfo(data)
		if err == nil && fi.Name == "" {
			t.Error("no error and no name")
		}
	})
}

func FuzzParseMetainfoVersion(f *testing.F) {
	addTestdataSeeds(f, "flatpak/*.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseMetainfoVersion(data)
		if err == nil && v == "" {
			t.Error("no error and no version")
		}
	})
}

func FuzzParseSnapYAMLVersion(f *testing.F) {
	addTestdataSeeds(f, "snap/*.yaml")
	f.Add([]byte("version: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseSnapYAMLVersion(data)
		if err == nil && v == "" {
			t.Error("no error and no version")
		}
	})
}

func FuzzResolveInRoot(f *testing.F) {
	for _, s := range []string{"/bin/zoom", "/opt/zoom/up/../bin", "/opt/loop/x", "//./..//usr"} {
		f.Add(s)
	}
	fsys := mergedUsrTree()
	f.Fuzz(func(t *testing.T, p string) {
		got, err := resolveInRoot(fsys, "", p)
		if err != nil {
			return
		}
		if got != path.Clean(got) || !strings.HasPrefix(got, "/") {
			t.Errorf("resolveInRoot(%q) = %q, not clean and absolute", p, got)
		}
		if _, ok := fsys[got]; !ok {
			t.Errorf("resolveInRoot(%q) = %q, which does not exist", p, got)
		}
		checkRootOwned(fsys, "", p)
	})
}
