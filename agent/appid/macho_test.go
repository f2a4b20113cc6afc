package appid

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// superBlob builds an embedded signature: a CodeDirectory (with identifier
// and, from version 0x20200, a team id) and optionally a CMS blob.
func superBlob(ident, team string, version, flags uint32, cms []byte) []byte {
	be := binary.BigEndian
	// CodeDirectory: 52-byte header (through teamOffset), then strings.
	cd := make([]byte, 52)
	be.PutUint32(cd[0:], csMagicCodeDir)
	be.PutUint32(cd[8:], version)
	be.PutUint32(cd[12:], flags)
	be.PutUint32(cd[20:], uint32(len(cd))) // identOffset
	cd = append(cd, ident...)
	cd = append(cd, 0)
	if team != "" {
		be.PutUint32(cd[48:], uint32(len(cd))) // teamOffset
		cd = append(cd, team...)
		cd = append(cd, 0)
	}
	be.PutUint32(cd[16:], uint32(len(cd))) // hashOffset: no hashes
	be.PutUint32(cd[4:], uint32(len(cd)))

	type blob struct {
		typ  uint32
		data []byte
	}
	blobs := []blob{{csSlotCodeDirectory, cd}}
	if cms != nil {
		w := make([]byte, 8, 8+len(cms))
		be.PutUint32(w, csMagicBlobWrapper)
		be.PutUint32(w[4:], uint32(8+len(cms)))
		blobs = append(blobs, blob{csSlotSignature, append(w, cms...)})
	}
	sb := make([]byte, 12+8*len(blobs))
	be.PutUint32(sb, csMagicEmbeddedSig)
	be.PutUint32(sb[8:], uint32(len(blobs)))
	for i, b := range blobs {
		be.PutUint32(sb[12+8*i:], b.typ)
		be.PutUint32(sb[16+8*i:], uint32(len(sb)))
		sb = append(sb, b.data...)
	}
	be.PutUint32(sb[4:], uint32(len(sb)))
	return sb
}

// thinMachO wraps a signature in a minimal 64-bit little-endian Mach-O: a
// header, an LC_UUID, and LC_CODE_SIGNATURE pointing at the blob.
func thinMachO(sig []byte) []byte {
	le := binary.LittleEndian
	const hdr, uuidCmd, csCmd = 32, 24, 16
	b := make([]byte, hdr+uuidCmd+csCmd)
	le.PutUint32(b[0:], 0xfeedfacf)
	le.PutUint32(b[4:], 0x0100000c) // CPU_TYPE_ARM64
	le.PutUint32(b[12:], 2)         // MH_EXECUTE
	le.PutUint32(b[16:], 2)         // ncmds
	le.PutUint32(b[20:], uuidCmd+csCmd)
	le.PutUint32(b[hdr:], 0x1b) // LC_UUID
	le.PutUint32(b[hdr+4:], uuidCmd)
	if sig != nil {
		c := b[hdr+uuidCmd:]
		le.PutUint32(c, lcCodeSignature)
		le.PutUint32(c[4:], csCmd)
		le.PutUint32(c[8:], uint32(len(b)))
		le.PutUint32(c[12:], uint32(len(sig)))
		b = append(b, sig...)
	} else {
		le.PutUint32(b[16:], 1)
		le.PutUint32(b[20:], uuidCmd)
		b = b[:hdr+uuidCmd]
	}
	return b
}

// fatMachO wraps thin Mach-O files in a universal binary.
func fatMachO(thins ...[]byte) []byte {
	be := binary.BigEndian
	const align = 0x1000
	b := make([]byte, 8+20*len(thins))
	be.PutUint32(b, 0xcafebabe)
	be.PutUint32(b[4:], uint32(len(thins)))
	for i, th := range thins {
		off := (len(b) + align - 1) &^ (align - 1)
		b = append(b, make([]byte, off-len(b))...)
		a := b[8+20*i:]
		be.PutUint32(a, 0x0100000c)
		be.PutUint32(a[8:], uint32(off))
		be.PutUint32(a[12:], uint32(len(th)))
		be.PutUint32(a[16:], 12)
		b = append(b, th...)
	}
	return b
}

const (
	testTeamID = "BJ4HAAB9B3"
	testIdent  = "us.zoom.xos"
)

// Mach-O fixtures for the fuzz corpus; -update rewrites them.
var machoFixtures = map[string][]byte{
	"macho/teamid.macho":     thinMachO(superBlob(testIdent, testTeamID, 0x20400, 0x10000, []byte("cms-signature-bytes"))),
	"macho/teamid-fat.macho": fatMachO(thinMachO(superBlob(testIdent, testTeamID, 0x20400, 0x10000, []byte("cms"))), thinMachO(nil)),
}

func TestMachOFixtures(t *testing.T) {
	for name, data := range machoFixtures {
		if *update {
			if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got := readTestdata(t, name); !bytes.Equal(got, data) {
			t.Errorf("testdata/%s is stale; run go test -update", name)
		}
	}
}

func TestParseCodeSignature(t *testing.T) {
	real := func(t testing.TB) []byte {
		data, err := os.ReadFile(buildMachO(t))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	tests := []struct {
		name    string
		data    func(t testing.TB) []byte
		want    CodeSignature
		wantErr string
	}{
		{
			// Go's linker signs darwin/arm64 binaries ad hoc, naming them
			// after its output file.
			name: "real go-built darwin/arm64",
			data: real,
			want: CodeSignature{Identifier: "a.out", Flags: CSAdhoc | CSLinkerSigned, AdHoc: true, Version: 0x20400},
		},
		{
			name: "real go-built in a universal binary",
			data: func(t testing.TB) []byte { return fatMachO(real(t)) },
			want: CodeSignature{Identifier: "a.out", Flags: CSAdhoc | CSLinkerSigned, AdHoc: true, Version: 0x20400},
		},
		{
			name: "team id, CMS signature",
			data: func(testing.TB) []byte { return machoFixtures["macho/teamid.macho"] },
			want: CodeSignature{Identifier: testIdent, TeamID: testTeamID, Flags: 0x10000, HasCMS: true, Version: 0x20400},
		},
		{
			name: "universal: first architecture",
			data: func(testing.TB) []byte { return machoFixtures["macho/teamid-fat.macho"] },
			want: CodeSignature{Identifier: testIdent, TeamID: testTeamID, Flags: 0x10000, HasCMS: true, Version: 0x20400},
		},
		{
			name: "version before team ids: team offset ignored",
			data: func(testing.TB) []byte { return thinMachO(superBlob(testIdent, testTeamID, 0x20100, 0, nil)) },
			want: CodeSignature{Identifier: testIdent, Version: 0x20100},
		},
		{
			name: "empty CMS blob is not a certificate signature",
			data: func(testing.TB) []byte { return thinMachO(superBlob("x", "", 0x20400, CSAdhoc, []byte{})) },
			want: CodeSignature{Identifier: "x", Flags: CSAdhoc, AdHoc: true, Version: 0x20400},
		},
		{
			name:    "unsigned",
			data:    func(testing.TB) []byte { return thinMachO(nil) },
			wantErr: ErrNoCodeSignature.Error(),
		},
		{
			name:    "not Mach-O",
			data:    func(testing.TB) []byte { return append([]byte("\x7fELF"), make([]byte, 60)...) },
			wantErr: "not a Mach-O file",
		},
		{
			name:    "empty",
			data:    func(testing.TB) []byte { return nil },
			wantErr: "read Mach-O magic",
		},
		{
			name: "bad SuperBlob magic",
			data: func(testing.TB) []byte {
				b := thinMachO(superBlob("x", "", 0x20400, 0, nil))
				binary.BigEndian.PutUint32(b[72:], 0xdeadbeef)
				return b
			},
			wantErr: "SuperBlob magic",
		},
		{
			name: "signature runs past the universal slice",
			data: func(testing.TB) []byte {
				b := fatMachO(thinMachO(superBlob("x", "", 0x20400, 0, nil)))
				binary.BigEndian.PutUint32(b[20:], 100) // slice size: headers fit, the signature does not
				return b
			},
			wantErr: "runs past the file",
		},
		{
			name: "identifier offset outside the CodeDirectory",
			data: func(testing.TB) []byte {
				b := thinMachO(superBlob("x", "", 0x20400, 0, nil))
				cd := 72 + 20 // SuperBlob at 72, one index entry
				binary.BigEndian.PutUint32(b[cd+20:], 0xffff)
				return b
			},
			wantErr: "outside the CodeDirectory",
		},
		{
			name: "load command size zero",
			data: func(testing.TB) []byte {
				b := thinMachO(nil)
				binary.LittleEndian.PutUint32(b[36:], 0)
				return b
			},
			wantErr: "bad size 0",
		},
		{
			name: "universal binary without architectures",
			data: func(testing.TB) []byte {
				return []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0}
			},
			wantErr: "no architectures",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCodeSignature(bytes.NewReader(tt.data(t)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadCodeSignature(t *testing.T) {
	_, err := ReadCodeSignature(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v; want not exist", err)
	}
	cs, err := ReadCodeSignature(filepath.Join("testdata", "macho/teamid.macho"))
	if err != nil || cs.TeamID != testTeamID {
		t.Errorf("ReadCodeSignature = %+v, %v", cs, err)
	}
}
