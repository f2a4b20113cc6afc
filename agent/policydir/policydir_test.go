package policydir

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/policies"
)

func catalog(t *testing.T) *policies.Catalog {
	t.Helper()
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

const forbidZoom = "name: Hospital ward\napps:\n  zoom: {status: forbidden, alternative: jitsi-meet}\n  jitsi-meet: {status: approved}\n"

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, mode); err != nil { // umask
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, path string) *Dir {
	t.Helper()
	d := Open(path, catalog(t))
	d.checkOwner = canCheckOwner()
	d.extra = nil
	d.Reload()
	return d
}

func TestReload(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "policy.d")
	d := open(t, dir)
	if len(d.Files()) != 0 {
		t.Fatalf("a missing directory has files: %+v", d.Files())
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "10-ward.yaml"), forbidZoom, 0o644)
	write(t, filepath.Join(dir, "README.txt"), "not a policy", 0o644)
	write(t, filepath.Join(dir, ".hidden.yaml"), "broken: [", 0o644)
	if !d.Reload() {
		t.Fatal("Reload saw no change after a file appeared")
	}
	files := d.Files()
	if len(files) != 1 || files[0].Err != nil || files[0].Policy.Name != "Hospital ward" || len(files[0].SHA256) != 64 {
		t.Fatalf("files = %+v", files)
	}
	if d.Reload() {
		t.Error("Reload reports a change although nothing changed")
	}
	good := files[0]

	// A broken update is refused with its line; the last good content stays.
	write(t, filepath.Join(dir, "10-ward.yaml"), "name: Ward\napps:\n  zoom: {status: maybe}\n", 0o644)
	if !d.Reload() {
		t.Fatal("Reload saw no change after a broken update")
	}
	f := d.Files()[0]
	if f.Err == nil || !strings.Contains(f.Err.Error(), "10-ward.yaml:3") || f.Policy != good.Policy || f.SHA256 != good.SHA256 {
		t.Errorf("after a broken update: %+v; want the error with file:line and the last good policy in force", f)
	}
	if ps := d.Policies(); len(ps) != 1 || ps[0].Name != "Hospital ward" {
		t.Errorf("Policies() = %v", ps)
	}

	// A file anyone may write is not applied.
	write(t, filepath.Join(dir, "20-open.yaml"), forbidZoom, 0o644)
	makeWritableByEveryone(t, filepath.Join(dir, "20-open.yaml"))
	d.Reload()
	var open File
	for _, f := range d.Files() {
		if strings.HasSuffix(f.Path, "20-open.yaml") {
			open = f
		}
	}
	if open.Err == nil || !strings.Contains(open.Err.Error(), writableByEveryone) || open.Policy != nil {
		t.Errorf("world-writable file: %+v; want it refused", open)
	}

	// Removed: no longer in force.
	os.Remove(filepath.Join(dir, "10-ward.yaml"))
	os.Remove(filepath.Join(dir, "20-open.yaml"))
	if !d.Reload() || len(d.Files()) != 0 {
		t.Errorf("after removal: %+v", d.Files())
	}
}

// The directory is watched for real (fsnotify): a change applies well
// within a second, also when the directory itself appears later.
func TestWatchHotReload(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "policy.d")
	d := open(t, dir)
	changes := make(chan []File, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Watch(ctx, nil, func(fs []File) { changes <- fs }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	next := func(what string) ([]File, time.Duration) {
		t.Helper()
		start := time.Now()
		for {
			select {
			case fs := <-changes:
				return fs, time.Since(start)
			case <-time.After(5 * time.Second):
				t.Fatalf("no reload after %s", what)
			}
		}
	}
	time.Sleep(50 * time.Millisecond) // let the watch start; a change before it is found by no one
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	write(t, filepath.Join(dir, "ward.yaml"), forbidZoom, 0o644)
	var fs []File
	for len(fs) == 0 {
		fs, _ = next("the directory and a file appeared")
	}
	if fs[0].Policy == nil || fs[0].Policy.Name != "Hospital ward" {
		t.Fatalf("files = %+v", fs)
	}
	t.Logf("new directory and file applied after %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	write(t, filepath.Join(dir, "ward.yaml"), strings.Replace(forbidZoom, "Hospital ward", "Ward 2", 1), 0o644)
	fs, _ = next("an update")
	if took := time.Since(start); fs[0].Policy.Name != "Ward 2" || took > time.Second {
		t.Errorf("update: %+v after %s; want Ward 2 within 1 s", fs, took)
	} else {
		t.Logf("update applied after %s", took.Round(time.Millisecond))
	}

	write(t, filepath.Join(dir, "ward.yaml"), "name: [", 0o644)
	fs, _ = next("a broken update")
	if fs[0].Err == nil || fs[0].Policy.Name != "Ward 2" {
		t.Errorf("broken update: %+v; want the error and Ward 2 still in force", fs)
	}
}

func TestParseManagedPreferences(t *testing.T) {
	t.Parallel()
	xml := `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Policies</key>
  <dict>
    <key>ward</key>
    <string>name: Ward
apps:
  zoom: {status: forbidden}
</string>
  </dict>
  <key>PayloadIdentifier</key><string>eu.vcguard.agent.policy</string>
</dict>
</plist>`
	docs, err := parseManagedPreferences([]byte(xml))
	if err != nil {
		t.Fatal(err)
	}
	p, err := policies.ParsePolicy("managed-preferences:ward", docs["ward"], catalog(t))
	if err != nil || p.Name != "Ward" {
		t.Fatalf("policy from managed preferences: %+v, %v", p, err)
	}
	if _, err := parseManagedPreferences([]byte("<plist><dict><key>Policies</key><string>x")); err == nil {
		t.Error("a broken plist was accepted")
	}
}

// A drop-in naming a tool the catalog does not know is refused, and comes
// into force once a catalog that knows it is set (a catalog update).
func TestSetCatalog(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "policy.d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "new.yaml"), "name: New tool\napps:\n  zz-new-tool: {status: approved}\n", 0o644)
	d := open(t, dir)
	if fs := d.Files(); len(fs) != 1 || fs[0].Err == nil || !strings.Contains(fs[0].Err.Error(), "zz-new-tool") {
		t.Fatalf("files = %+v; want new.yaml refused for an unknown app", fs)
	}
	b, err := policies.EmbeddedCatalogBundle()
	if err != nil {
		t.Fatal(err)
	}
	b.Files = append(b.Files, policies.CatalogFile{Name: "zz-new-tool.yaml", Content: "app_id: zz-new-tool\nname: New Tool\nvendor: Test\ncategory: browser\nidentify:\n  linux:\n    executables: [zz-new-tool]\n"})
	newer, err := policies.BundleCatalog(b)
	if err != nil {
		t.Fatal(err)
	}
	changes := make(chan []File, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Watch(ctx, nil, func(fs []File) { changes <- fs }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	d.SetCatalog(newer)
	for {
		select {
		case fs := <-changes:
			if len(fs) == 1 && fs[0].Err == nil && fs[0].Policy != nil && fs[0].Policy.Name == "New tool" {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the drop-in did not come into force after the catalog update")
		}
	}
}

// Watch reloads for changes to the directory and what is in it, not for
// the other files of its parent (a log written there every second once
// cost a reload a second).
func TestWatchConcerns(t *testing.T) {
	parent := filepath.Join(string(filepath.Separator), "etc", "vcguard")
	d := &Dir{path: filepath.Join(parent, "policy.d")}
	for _, tc := range []struct {
		name string
		want bool
	}{
		{d.path, true},
		{filepath.Join(d.path, "10-local.yaml"), true},
		{filepath.Join(d.path, "sub", "x.yaml"), true},
		{filepath.Join(parent, "status.json"), false},
		{filepath.Join(parent, "policy.d.tmp"), false},
	} {
		if got := d.concerns(tc.name, parent); got != tc.want {
			t.Errorf("concerns(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !d.concerns(filepath.Join(string(filepath.Separator), "Library", "Managed Preferences", "com.vcguard.agent.plist"), parent) {
		t.Errorf("a managed preferences file does not concern the sources")
	}
}
