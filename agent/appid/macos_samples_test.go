package appid

// Identity from files taken from real macOS installs (testdata/README.md
// says where each comes from): a Zoom 5.15.7 bundle's Info.plist files and
// the code signature of its main executable, and unsigned executables from
// Go's debug/macho test data.

import (
	"bytes"
	"compress/gzip"
	"debug/macho"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"howett.net/plist"
)

// zoomTeamID is Zoom Video Communications' Apple developer team.
const zoomTeamID = "BJ4HAAB9B3"

// zoomExecutable returns the trimmed zoom.us 5.15.7 (arm64) executable:
// its header, load commands and code signature at their offsets, zeros in
// place of everything else.
func zoomExecutable(t testing.TB) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(readTestdata(t, "macho/zoom.us-5.15.7-arm64.trimmed.macho.gz")))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseInfoPlistMacOSSamples(t *testing.T) {
	t.Parallel()
	xmlZoom := readTestdata(t, "plist/zoom-5.15.7.Info.plist")
	var doc map[string]any
	if _, err := plist.Unmarshal(xmlZoom, &doc); err != nil {
		t.Fatal(err)
	}
	// Finder and Xcode also leave binary Info.plists: the same document.
	binZoom, err := plist.Marshal(doc, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	zoom := BundleInfo{Identifier: "us.zoom.xos", Version: "5.15.7 (21404)", Executable: "zoom.us", Name: "zoom.us"}
	tests := []struct {
		name string
		data []byte
		want BundleInfo
	}{
		{"zoom.us.app", xmlZoom, zoom},
		{"zoom.us.app, binary", binZoom, zoom},
		{
			"CptHost.app (Zoom's screen-share helper)",
			readTestdata(t, "plist/zoom-5.15.7-CptHost.Info.plist"),
			BundleInfo{Identifier: "us.zoom.CptHost", Version: "5.15.7 (21404)", Executable: "CptHost", Name: "CptHost"},
		},
	}
	for _, tt := range tests {
		got, err := ParseInfoPlist(tt.data)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
	// The bundle's own helper requirements name the team the executable's
	// signature claims (TestParseCodeSignatureMacOSSamples).
	if !bytes.Contains(xmlZoom, []byte("certificate leaf[subject.OU] = "+zoomTeamID)) {
		t.Errorf("zoom Info.plist does not name team %s", zoomTeamID)
	}
}

func TestParseCodeSignatureMacOSSamples(t *testing.T) {
	t.Parallel()
	zoom := zoomExecutable(t)
	if f, err := macho.NewFile(bytes.NewReader(zoom)); err != nil {
		t.Fatalf("trimmed zoom.us is no longer a Mach-O: %v", err)
	} else if f.Cpu != macho.CpuArm64 || f.Type != macho.TypeExec {
		t.Fatalf("trimmed zoom.us: cpu %v type %v", f.Cpu, f.Type)
	}
	// Developer ID, hardened runtime (CS_RUNTIME 0x10000), code directory
	// version 0x20500 (Xcode 14).
	zoomSig := CodeSignature{Identifier: "us.zoom.xos", TeamID: zoomTeamID, Flags: 0x10000, HasCMS: true, Version: 0x20500}
	tests := []struct {
		name    string
		data    []byte
		want    CodeSignature
		wantErr error
	}{
		{name: "zoom.us 5.15.7 arm64", data: zoom, want: zoomSig},
		{name: "zoom.us 5.15.7 in a universal binary", data: fatMachO(zoom), want: zoomSig},
		{name: "gcc amd64 executable (unsigned, pre-2020)", data: readTestdata(t, "macho/go-gcc-amd64-darwin-exec"), wantErr: ErrNoCodeSignature},
		{name: "gcc universal 386+amd64 (unsigned)", data: readTestdata(t, "macho/go-fat-gcc-386-amd64-darwin-exec"), wantErr: ErrNoCodeSignature},
	}
	for _, tt := range tests {
		got, err := ParseCodeSignature(bytes.NewReader(tt.data))
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
	// What the macOS inspector reads: the file on disk.
	exe := filepath.Join(t.TempDir(), "zoom.us")
	if err := os.WriteFile(exe, zoom, 0o644); err != nil {
		t.Fatal(err)
	}
	cs, err := ReadCodeSignature(exe)
	if err != nil || cs != zoomSig {
		t.Fatalf("ReadCodeSignature = %+v, %v", cs, err)
	}
	if !strings.Contains(string(zoom), "Developer ID Application: Zoom Video Communications, Inc. ("+zoomTeamID+")") {
		t.Error("the CMS blob does not carry Zoom's Developer ID certificate")
	}
}
