package dashboard

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The dashboard reads and changes everything through the admin service
// (server/admin), which applies the JSON API's limits and audits every
// change: none of its files imports the store. Its tests may, to lay out
// what they check.
func TestDashboardDoesNotImportStore(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Go files found")
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "github.com/vcguard/vcguard/server/store" || strings.HasPrefix(path, "github.com/vcguard/vcguard/server/store/") {
				t.Errorf("%s imports %s: read and change through the admin service (server/admin) instead", name, path)
			}
		}
	}
}
