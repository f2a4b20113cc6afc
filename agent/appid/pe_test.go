package appid

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/saferwall/pe"
	pelog "github.com/saferwall/pe/log"
	"github.com/tc-hib/winres/version"
)

// peFixture is a real signed PE committed for the fuzz corpus and for runs
// without the Go toolchain or osslsigncode; -update rebuilds it.
const peFixture = "pe/zoomish-signed-headers.pe"

// TestParsePEInfo parses real executables: built by the Go toolchain with
// a winres version resource, signed by osslsigncode with self-signed
// certificates.
func TestParsePEInfo(t *testing.T) {
	b := buildPEs(t)
	tests := []struct {
		name          string
		file          string
		wantSigned    bool
		wantPublisher string
	}{
		{"signed, subject has O", b.signedOrg, true, testPECompany},
		{"signed, subject has only CN", b.signedCN, true, testPEOnlyCN},
		{"unsigned", b.unsigned, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ReadPEInfo(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if len(info.Problems) > 0 {
				t.Errorf("Problems = %q", info.Problems)
			}
			if info.Version != testPEVersion || info.FixedProductVersion != testPEVersion || info.FixedFileVersion != testPEVersion {
				t.Errorf("Version = %q, fixed product %q, fixed file %q; want %q", info.Version, info.FixedProductVersion, info.FixedFileVersion, testPEVersion)
			}
			if info.CompanyName != testPECompany || info.ProductName != testPEProduct ||
				info.OriginalFilename != testPEOrigName || info.FileDescription != testPEFileDescr {
				t.Errorf("strings = %+v", info)
			}
			if info.HasSignature != tt.wantSigned || info.Publisher != tt.wantPublisher {
				t.Errorf("HasSignature, Publisher = %v, %q; want %v, %q", info.HasSignature, info.Publisher, tt.wantSigned, tt.wantPublisher)
			}
			// The subject is in RFC 2253 form: commas in values are escaped.
			if tt.wantSigned && !strings.Contains(info.SignerSubject, strings.ReplaceAll(tt.wantPublisher, ",", `\,`)) {
				t.Errorf("SignerSubject = %q", info.SignerSubject)
			}
		})
	}
}

// TestParsePEInfoMatchesSaferwall checks the bounded version-resource walk
// against saferwall/pe parsing the whole file.
func TestParsePEInfoMatchesSaferwall(t *testing.T) {
	b := buildPEs(t)
	f, err := pe.New(b.signedOrg, &pe.Options{Logger: discardPELog{}, DisableCertValidation: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Parse(); err != nil {
		t.Fatal(err)
	}
	want, err := f.ParseVersionResources()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Certificates.Certificates) == 0 {
		t.Fatal("saferwall found no certificate")
	}
	wantOrg := f.Certificates.Certificates[0].Content.GetOnlySigner().Subject.Organization[0]

	got, err := ReadPEInfo(b.signedOrg)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"ProductVersion": got.ProductVersion, "FileVersion": got.FileVersion,
		"CompanyName": got.CompanyName, "ProductName": got.ProductName,
		"FileDescription": got.FileDescription, "OriginalFilename": got.OriginalFilename,
	} {
		if want[k] != v {
			t.Errorf("%s = %q, saferwall says %q", k, v, want[k])
		}
	}
	if got.Publisher != wantOrg {
		t.Errorf("Publisher = %q, saferwall says %q", got.Publisher, wantOrg)
	}
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// TestParsePEInfoReadsLittle shows the agent reads headers, the version
// resource and the certificate table, not the executable.
func TestParsePEInfoReadsLittle(t *testing.T) {
	b := buildPEs(t)
	data, err := os.ReadFile(b.signedOrg)
	if err != nil {
		t.Fatal(err)
	}
	cr := &countingReaderAt{r: bytes.NewReader(data)}
	info, err := ParsePEInfo(cr, int64(len(data)))
	if err != nil || info.Publisher == "" || info.Version == "" {
		t.Fatalf("ParsePEInfo = %+v, %v", info, err)
	}
	if n := cr.n.Load(); n > 32<<10 {
		t.Errorf("read %d of %d bytes; want a few KiB", n, len(data))
	}
	t.Logf("read %d of %d bytes", cr.n.Load(), len(data))
}

func TestPEFixture(t *testing.T) {
	if *update {
		b := buildPEs(t)
		data, err := os.ReadFile(b.signedOrg)
		if err != nil {
			t.Fatal(err)
		}
		// Only what the parsers read (headers, version resource,
		// certificate table): a sample, not a built program.
		if data, err = compactPE(data); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", peFixture), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	info, err := ReadPEInfo(filepath.Join("testdata", peFixture))
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != testPEVersion || !info.HasSignature || info.Publisher != testPECompany || len(info.Problems) > 0 {
		t.Errorf("fixture: %+v", info)
	}
}

func TestParsePEInfoErrors(t *testing.T) {
	fixture := readTestdata(t, peFixture)
	l, err := readPELayout(bytes.NewReader(fixture), int64(len(fixture)))
	if err != nil {
		t.Fatal(err)
	}
	patch := func(off int, v uint32) []byte {
		b := bytes.Clone(fixture)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	secDir := int(l.dirOff) + 8*4
	rsrcDir := int(l.dirOff) + 8*2
	tests := []struct {
		name        string
		data        []byte
		wantErr     string // ParsePEInfo error
		wantProblem string // else a problem
		wantSig     bool
	}{
		{"empty", nil, "too small", "", false},
		{"ELF", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 100)...), "no MZ signature", "", false},
		{"MZ only", append([]byte("MZ"), make([]byte, 100)...), "NT header offset", "", false},
		{"truncated headers", fixture[:300], "beyond the end of the file", "", false},
		{"no PE signature", patch(int(l.lfanew), 0x4550ffff), "no PE signature", "", false},
		{"bad optional magic", patch(int(l.lfanew)+24, 0x1234), "optional header magic", "", false},
		{"certificate table outside the file", patch(secDir, uint32(len(fixture))), "", "outside the file", true},
		{"certificate table too large", patch(secDir+4, 100<<20), "", "larger than", true},
		{"garbage certificate", func() []byte {
			b := bytes.Clone(fixture)
			va := binary.LittleEndian.Uint32(b[secDir:])
			copy(b[va+8:va+64], bytes.Repeat([]byte{0xA5}, 56))
			return b
		}(), "", "signature:", true},
		{"resource directory in no section", patch(rsrcDir, 0x7fff0000), "", "version resource", true},
		{"no resource directory", patch(rsrcDir, 0), "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ParsePEInfo(bytes.NewReader(tt.data), int64(len(tt.data)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(info.Problems, "; ")
			t.Logf("problems: %s", joined)
			if tt.wantProblem == "" && joined != "" || !strings.Contains(joined, tt.wantProblem) {
				t.Errorf("Problems = %q; want %q", joined, tt.wantProblem)
			}
			if info.HasSignature != tt.wantSig {
				t.Errorf("HasSignature = %v", info.HasSignature)
			}
		})
	}
}

func TestParseVersionInfo(t *testing.T) {
	multi := testVersionInfo()
	multi.Set(0x407, version.CompanyName, "Zoom Deutschland")
	multi.Set(0x407, version.ProductVersion, "5.17.11.34827-de")
	good := multi.Bytes()

	noStrings := version.Info{ProductVersion: [4]uint16{1, 2, 3, 4}}
	noStringsBlob := noStrings.Bytes()

	tests := []struct {
		name        string
		blob        []byte
		wantVersion string // PEInfo.Version after setVersion
		wantCompany string
		wantErr     string
	}{
		{"en-US table preferred over de-DE", good, testPEVersion, testPECompany, ""},
		{"fixed info only", noStringsBlob, "1.2.3.4", "", ""},
		{"empty", nil, "", "", "header truncated"},
		{"bad root key", func() []byte {
			b := bytes.Clone(good)
			b[6] = 'X'
			return b
		}(), "", "", "not VS_VERSION_INFO"},
		{"length beyond blob", func() []byte {
			b := bytes.Clone(good)
			binary.LittleEndian.PutUint16(b, uint16(len(b)+10))
			return b
		}(), "", "", "out of range"},
		{"truncated", good[:200], "", "", "out of range"},
		{"string table truncated", func() []byte {
			b := bytes.Clone(good)
			binary.LittleEndian.PutUint16(b, uint16(len(b)-40)) // root claims less than its children need
			return b[:len(b)-40]
		}(), "", "", "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vi, err := parseVersionInfo(tt.blob)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var info PEInfo
			info.setVersion(vi)
			if info.Version != tt.wantVersion || info.CompanyName != tt.wantCompany {
				t.Errorf("Version, CompanyName = %q, %q; want %q, %q", info.Version, info.CompanyName, tt.wantVersion, tt.wantCompany)
			}
		})
	}
}

func TestNormalizePEVersion(t *testing.T) {
	for in, want := range map[string]string{
		"5.17.11.34827":    "5.17.11.34827",
		"1, 0, 0, 1":       "1.0.0.1",
		"1,2,3,4":          "1.2.3.4",
		" 24.1.2 ":         "24.1.2",
		"1, 0 beta":        "1, 0 beta",
		"6.2.11 (43613)":   "6.2.11 (43613)",
		"":                 "",
		"25.1204.3202.101": "25.1204.3202.101",
	} {
		if got := normalizePEVersion(in); got != want {
			t.Errorf("normalizePEVersion(%q) = %q; want %q", in, got, want)
		}
	}
}

// discardPELog keeps saferwall/pe quiet in the oracle test.
type discardPELog struct{}

func (discardPELog) Log(pelog.Level, ...any) error { return nil }
