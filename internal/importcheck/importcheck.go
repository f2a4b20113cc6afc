// Package importcheck checks which packages the non-test Go files of a
// package import directly, whatever their build tags: a rule such as "the
// dashboard never imports the store" holds for the package's own files,
// while `go list -deps` (e2e's dependency test) sees only one GOOS and every
// transitive import. Test support only.
package importcheck

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Forbid fails t for every non-test Go file in the current directory that
// imports a package for which forbidden returns a reason ("" allows it).
func Forbid(t testing.TB, forbidden func(path string) (reason string)) {
	t.Helper()
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
			if why := forbidden(path); why != "" {
				t.Errorf("%s imports %s: %s", name, path, why)
			}
		}
	}
}
