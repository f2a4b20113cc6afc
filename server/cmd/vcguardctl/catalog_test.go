package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vcguard/vcguard/policies"
)

// catalogDir writes the embedded catalog as a directory under version, plus
// extra entry files.
func catalogDir(t *testing.T, version uint64, extra map[string]string) string {
	t.Helper()
	b, err := policies.EmbeddedCatalogBundle()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, policies.CatalogVersionFile), fmt.Sprintf("# test\n%d\n", version))
	for _, f := range b.Files {
		writeFile(t, filepath.Join(dir, f.Name), f.Content)
	}
	for name, content := range extra {
		writeFile(t, filepath.Join(dir, name), content)
	}
	return dir
}

// TestCatalogCommands: publish a directory with a new tool (and the same
// version again), a broken entry named by its local file and line, list.
func TestCatalogCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	embedded, err := policies.EmbeddedCatalogVersion()
	if err != nil {
		t.Fatal(err)
	}
	newTool := map[string]string{"zz-new-tool.yaml": "app_id: zz-new-tool\nname: New Tool\nvendor: Test\ncategory: browser\nidentify:\n  linux:\n    executables: [zz-new-tool]\n"}
	good := catalogDir(t, embedded+1, newTool)
	broken := catalogDir(t, embedded+2, map[string]string{"zz-broken.yaml": "app_id: zz-broken\nname: B\nvendor: V\ncategory: meeting\nidentify:\n  linux:\n    executables: [zz-broken]\n"})
	noVersion := catalogDir(t, embedded+2, nil)
	if err := os.Remove(filepath.Join(noVersion, policies.CatalogVersionFile)); err != nil {
		t.Fatal(err)
	}
	// A bundle file (as the API takes it) works too.
	b, err := policies.ReadCatalogDir(os.DirFS(catalogDir(t, embedded+3, newTool)), ".")
	if err != nil {
		t.Fatal(err)
	}
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	bundleFile := writeFile(t, filepath.Join(t.TempDir(), "catalog.json"), string(data))
	v := func(add uint64) string { return fmt.Sprint(embedded + add) }
	for _, c := range []ctlCase{
		{name: "list: the embedded catalog", args: []string{"catalog"}, lines: 2, want: []string{v(0), "current", "system"}},
		{name: "publish as analyst: 403", role: "analyst", args: []string{"catalog", "publish", good}, wantErr: []string{"403"}},
		{name: "publish", args: []string{"catalog", "publish", good}, want: []string{"published catalog version " + v(1)}},
		{name: "publish the same version again: refused", args: []string{"catalog", "publish", good},
			wantErr: []string{"version " + v(1) + ", the current one is " + v(1), "raise the number", "not published"}},
		{name: "broken entry: 400 names the local file and line", args: []string{"catalog", "publish", broken},
			wantErr: []string{filepath.Join(broken, "zz-broken.yaml") + ":1: field facts", "catalog version " + v(2), "not published"}},
		{name: "no VERSION file", args: []string{"catalog", "publish", noVersion}, wantErr: []string{"no VERSION file"}},
		{name: "publish a bundle file", args: []string{"catalog", "publish", bundleFile, "--output", "json"}, want: []string{`"version": ` + v(3)}},
		{name: "list after publishing", args: []string{"catalog", "list"}, lines: 4, want: []string{v(3), v(1)}},
	} {
		t.Run(c.name, func(t *testing.T) { f.check(t, c) })
	}
	// The API's device view carries the version the agent reported.
	if err := f.env.Store.SetDeviceCatalogVersion(t.Context(), "dev-1", embedded+1); err != nil {
		t.Fatal(err)
	}
	f.check(t, ctlCase{name: "device json", args: []string{"devices", "show", "dev-1", "--output", "json"}, want: []string{`"catalog_version": ` + v(1)}})
}
