package localipc

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The IPC knows nothing of camera detection or of notices' wording: the
// agent wires camera reports to its devices watcher (Server.OnMedia), and
// notify imports this package, not the other way round. Every file counts,
// whatever its build tag.
func TestIPCImportsNeitherDevicesNorNotify(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
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
			if strings.HasSuffix(path, "/agent/devices") || strings.HasSuffix(path, "/agent/notify") {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
