package catalogbundle_test

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vcguard/vcguard/policies/catalogbundle"
)

func TestReadDirEncodeParse(t *testing.T) {
	fsys := fstest.MapFS{
		"c/VERSION": {Data: []byte("# comment\n4\n")},
		"c/b.yaml":  {Data: []byte("app_id: b\n")},
		"c/a.yaml":  {Data: []byte("app_id: a # <&> \"quoted\" ünïcode\n")},
	}
	b, err := catalogbundle.ReadDir(fsys, "c")
	if err != nil {
		t.Fatal(err)
	}
	if b.Version != 4 || len(b.Files) != 2 || b.Files[0].Name != "a.yaml" {
		t.Fatalf("bundle = %+v", b)
	}
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), `{"format":"vcguard-catalog/1","version":4,"files":[{"file":"a.yaml","content":"app_id: a # <&>`) {
		t.Errorf("encoding = %s", data)
	}
	again, err := catalogbundle.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != 4 || again.Files[0].Content != b.Files[0].Content {
		t.Errorf("round trip = %+v", again)
	}
	if _, err := catalogbundle.Parse(append([]byte(" "), data...)); err == nil || !strings.Contains(err.Error(), "canonical") {
		t.Errorf("leading space: %v", err)
	}
	if _, err := catalogbundle.Parse(bytes.Replace(data, []byte("app_id: b"), []byte("app_id: \xff"), 1)); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
}

// FuzzParse: the parser never panics and accepts only what it encodes
// itself, byte for byte.
func FuzzParse(f *testing.F) {
	b := &catalogbundle.Bundle{Version: 2, Files: []catalogbundle.File{{Name: "a.yaml", Content: "app_id: a\n"}, {Name: "b.yaml", Content: "x"}}}
	data, err := b.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"format":"vcguard-catalog/1","version":1,"files":[]}`))
	f.Add([]byte(`{"format":"vcguard-catalog/1","version":1,"files":[{"file":"a.yaml","content":"\u00e9"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := catalogbundle.Parse(data)
		if err != nil {
			return
		}
		again, err := b.Encode()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted %q, which encodes as %q (%v)", data, again, err)
		}
	})
}
