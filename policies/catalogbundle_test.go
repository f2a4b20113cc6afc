package policies_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/policies/catalogbundle"
)

const testEntry = `app_id: vcguard-test-tool
name: Test Tool
vendor: Test Vendor
category: browser
identify:
  linux:
    executables: [vcguard-test-tool]
`

func TestEmbeddedCatalogBundle(t *testing.T) {
	v, err := policies.EmbeddedCatalogVersion()
	if err != nil || v == 0 {
		t.Fatalf("EmbeddedCatalogVersion = %d, %v", v, err)
	}
	b, err := policies.EmbeddedCatalogBundle()
	if err != nil {
		t.Fatal(err)
	}
	if b.Version != v {
		t.Errorf("bundle version %d, VERSION says %d", b.Version, v)
	}
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	again, err := policies.ParseCatalogBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := policies.BundleCatalog(again)
	if err != nil {
		t.Fatal(err)
	}
	emb, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(cat.Apps()), len(emb.Apps()); got != want || got == 0 {
		t.Fatalf("bundle has %d apps, the embedded catalog %d", got, want)
	}
	for i, a := range emb.Apps() {
		if cat.Apps()[i].ID != a.ID {
			t.Errorf("app %d: %s, want %s", i, cat.Apps()[i].ID, a.ID)
		}
	}
	// One encoding per bundle: encoding twice gives the same bytes.
	data2, _ := again.Encode()
	if !bytes.Equal(data, data2) {
		t.Error("encoding is not deterministic")
	}
}

func TestParseCatalogVersion(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    uint64
		wantErr string
	}{
		{"1\n", 1, ""},
		{"# comment\n\n  42  \n# more\n", 42, ""},
		{"", 0, "VERSION:1: holds no version"},
		{"# only a comment\n", 0, "holds no version"},
		{"0\n", 0, `VERSION:1: "0" is not a catalog version`},
		{"v2\n", 0, `"v2" is not a catalog version`},
		{"-1\n", 0, "is not a catalog version"},
		{"1\n2\n", 0, "VERSION:2: holds a second number"},
		{"9223372036854775808\n", 0, "is not a catalog version"},
	} {
		got, err := policies.ParseCatalogVersion("VERSION", []byte(tc.in))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestReadCatalogDir(t *testing.T) {
	fsys := fstest.MapFS{
		"cat/VERSION":      {Data: []byte("7\n")},
		"cat/b-tool.yaml":  {Data: []byte(strings.ReplaceAll(testEntry, "vcguard-test-tool", "b-tool"))},
		"cat/a-tool.yaml":  {Data: []byte(strings.ReplaceAll(testEntry, "vcguard-test-tool", "a-tool"))},
		"cat/README.md":    {Data: []byte("not an entry")},
		"nover/x.yaml":     {Data: []byte(testEntry)},
		"empty/VERSION":    {Data: []byte("3")},
		"badname/VERSION":  {Data: []byte("3")},
		"badname/Ab.yaml":  {Data: []byte(testEntry)},
		"broken/VERSION":   {Data: []byte("3")},
		"broken/tool.yaml": {Data: []byte("app_id: tool\nname: T\nvendor: V\ncategory: meeting\nidentify:\n  linux:\n    executables: [t]\n")},
	}
	b, err := policies.ReadCatalogDir(fsys, "cat")
	if err != nil {
		t.Fatal(err)
	}
	if b.Version != 7 || len(b.Files) != 2 || b.Files[0].Name != "a-tool.yaml" || b.Files[1].Name != "b-tool.yaml" {
		t.Fatalf("bundle = %+v", b)
	}
	if _, err := policies.BundleCatalog(b); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]string{
		"nover":   "no VERSION file",
		"empty":   "no entry files",
		"badname": `entry file "Ab.yaml"`,
	} {
		if _, err := policies.ReadCatalogDir(fsys, dir); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", dir, err, want)
		}
	}
	// A broken entry is named with its file and line when loaded.
	b, err = policies.ReadCatalogDir(fsys, "broken")
	if err != nil {
		t.Fatal(err)
	}
	_, err = policies.BundleCatalog(b)
	var fe *policies.FieldError
	if !errors.As(err, &fe) || fe.File != "tool.yaml" || fe.Line != 1 || !strings.Contains(err.Error(), "catalog version 3: tool.yaml:1: field facts") {
		t.Fatalf("err = %v (%#v)", err, fe)
	}
}

func encode(t *testing.T, b *policies.CatalogBundle) []byte {
	t.Helper()
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseCatalogBundleRefuses(t *testing.T) {
	good := encode(t, &policies.CatalogBundle{Version: 2, Files: []policies.CatalogFile{{Name: "t.yaml", Content: testEntry}}})
	if _, err := policies.ParseCatalogBundle(good); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		data string
		want string
	}{
		"not json":      {"zoom", "catalog bundle"},
		"other format":  {`{"format":"vcguard-catalog/9","version":2,"files":[{"file":"t.yaml","content":"x"}]}`, "format"},
		"unknown field": {`{"format":"vcguard-catalog/1","version":2,"files":[],"extra":1}`, "unknown field"},
		"no files":      {`{"format":"vcguard-catalog/1","version":2,"files":[]}`, "no entry files"},
		"version 0":     {`{"format":"vcguard-catalog/1","version":0,"files":[{"file":"t.yaml","content":"x"}]}`, "not a catalog version"},
		"path name":     {`{"format":"vcguard-catalog/1","version":2,"files":[{"file":"../t.yaml","content":"x"}]}`, `entry file "../t.yaml"`},
		"unsorted":      {`{"format":"vcguard-catalog/1","version":2,"files":[{"file":"b.yaml","content":"x"},{"file":"a.yaml","content":"x"}]}`, "sorted"},
		"duplicate":     {`{"format":"vcguard-catalog/1","version":2,"files":[{"file":"a.yaml","content":"x"},{"file":"a.yaml","content":"y"}]}`, "sorted by name, each once"},
		"not canonical": {strings.Replace(string(good), `"version":2`, `"version": 2`, 1), "canonical"},
		"trailing":      {string(good) + " {}", "after the bundle"},
		"too large":     {strings.Repeat(" ", policies.MaxCatalogBundleBytes+1), "at most"},
	} {
		if _, err := policies.ParseCatalogBundle([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}
}

func TestCatalogSignature(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	otherPub, _, _ := ed25519.GenerateKey(nil)
	bundle := encode(t, &policies.CatalogBundle{Version: 5, Files: []policies.CatalogFile{{Name: "t.yaml", Content: testEntry}}})
	sig := policies.SignCatalog(key, 5, bundle)
	b, cat, err := policies.OpenSignedCatalog(pub, 5, bundle, sig)
	if err != nil {
		t.Fatal(err)
	}
	if b.Version != 5 {
		t.Errorf("version %d", b.Version)
	}
	if _, ok := cat.App("vcguard-test-tool"); !ok {
		t.Error("the bundle's app is missing")
	}
	// Another key, another version number, altered bytes: refused.
	if _, _, err := policies.OpenSignedCatalog(otherPub, 5, bundle, sig); !errors.Is(err, policies.ErrBadCatalogSignature) {
		t.Errorf("other key: %v", err)
	}
	if _, _, err := policies.OpenSignedCatalog(pub, 6, bundle, sig); !errors.Is(err, policies.ErrBadCatalogSignature) {
		t.Errorf("other version: %v", err)
	}
	altered := bytes.Replace(bundle, []byte("Test Tool"), []byte("Evil Tool"), 1)
	if _, _, err := policies.OpenSignedCatalog(pub, 5, altered, sig); !errors.Is(err, policies.ErrBadCatalogSignature) {
		t.Errorf("altered: %v", err)
	}
	// A policy signature over the same bytes never verifies as a catalog,
	// nor a catalog signature as a policy.
	if err := policies.VerifyCatalog(pub, 5, bundle, policies.SignPolicy(key, 5, bundle)); !errors.Is(err, policies.ErrBadCatalogSignature) {
		t.Errorf("policy signature accepted as a catalog's: %v", err)
	}
	if err := policies.VerifyPolicy(pub, 5, bundle, sig); !errors.Is(err, policies.ErrBadSignature) {
		t.Errorf("catalog signature accepted as a policy's: %v", err)
	}
	// Signed as version 6 while the bundle says 5: refused.
	if _, _, err := policies.OpenSignedCatalog(pub, 6, bundle, policies.SignCatalog(key, 6, bundle)); err == nil || !strings.Contains(err.Error(), "says version 5, signed as version 6") {
		t.Errorf("version mismatch: %v", err)
	}
	// A signed bundle whose entry is broken: refused with file and line.
	broken := encode(t, &policies.CatalogBundle{Version: 5, Files: []policies.CatalogFile{{Name: "t.yaml", Content: strings.Replace(testEntry, "category: browser", "category: bogus", 1)}}})
	if _, _, err := policies.OpenSignedCatalog(pub, 5, broken, policies.SignCatalog(key, 5, broken)); err == nil || !strings.Contains(err.Error(), "t.yaml:4: field category") {
		t.Errorf("broken entry: %v", err)
	}
}

// FuzzParseCatalogBundle: the bundle parser (input from the network, though
// signed) never panics, accepts only what it would encode itself, and
// loading an accepted bundle fails only with an error.
func FuzzParseCatalogBundle(f *testing.F) {
	emb, err := policies.EmbeddedCatalogBundle()
	if err != nil {
		f.Fatal(err)
	}
	data, err := emb.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	small, _ := (&policies.CatalogBundle{Version: 3, Files: []policies.CatalogFile{{Name: "t.yaml", Content: testEntry}}}).Encode()
	f.Add(small)
	f.Add([]byte(`{"format":"vcguard-catalog/1","version":1,"files":[{"file":"a.yaml","content":"app_id: [\n"}]}`))
	f.Add([]byte(`{}`))
	addFiles(f, filepath.Join("catalog", "*.yaml"), func(d []byte) { f.Add(d) })
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := policies.ParseCatalogBundle(data)
		if err != nil {
			return
		}
		again, err := b.Encode()
		if err != nil {
			t.Fatalf("accepted bundle does not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted bundle is not canonical:\n%q\n%q", data, again)
		}
		if c, err := policies.BundleCatalog(b); err == nil && len(c.Apps()) != len(b.Files) {
			t.Fatalf("%d files loaded as %d apps", len(b.Files), len(c.Apps()))
		}
	})
}

// The leaf package's bound of an entry file is the catalog's.
func TestCatalogBundleBounds(t *testing.T) {
	if catalogbundle.MaxFileBytes != policies.MaxDocumentBytes {
		t.Errorf("catalogbundle.MaxFileBytes %d, policies.MaxDocumentBytes %d", catalogbundle.MaxFileBytes, policies.MaxDocumentBytes)
	}
}
