package macpkg

import (
	"bytes"
	"compress/gzip"
	"debug/macho"
	"encoding/xml"
	"flag"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"howett.net/plist"

	"github.com/vcguard/vcguard/installer"
	"github.com/vcguard/vcguard/installer/darwin"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	darwinAmd64 = installer.Target{GOOS: "darwin", GOARCH: "amd64"}
	darwinArm64 = installer.Target{GOOS: "darwin", GOARCH: "arm64"}
)

// buildFake builds a package from fake thin agents and returns its path.
func buildFake(t *testing.T, version string) (string, map[macho.Cpu][]byte) {
	t.Helper()
	dir := t.TempDir()
	thin := map[macho.Cpu][]byte{
		macho.CpuAmd64: fakeMachO(macho.CpuAmd64, 3, 30000),
		macho.CpuArm64: fakeMachO(macho.CpuArm64, 0, 20000),
	}
	amd, arm := filepath.Join(dir, "agent-amd64"), filepath.Join(dir, "agent-arm64")
	for p, b := range map[string][]byte{amd: thin[macho.CpuAmd64], arm: thin[macho.CpuArm64]} {
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := Build(installer.Release{
		Version: version,
		Agent:   map[installer.Target]string{darwinAmd64: amd, darwinArm64: arm},
		OutDir:  filepath.Join(dir, "dist"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || filepath.Base(out[0]) != "vcguard-agent-"+version+".pkg" {
		t.Fatalf("Build returned %v", out)
	}
	return out[0], thin
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readPackage reads a .pkg with this package's readers, failing on any
// checksum error.
func readPackage(t *testing.T, path string) (*xarArchive, []cpioEntry, []cpioEntry, []bomEntry) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := readXAR(b)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range a.Entries {
		names = append(names, e.Path)
	}
	want := []string{"Distribution", "vcguard-agent.pkg", "vcguard-agent.pkg/Bom", "vcguard-agent.pkg/PackageInfo", "vcguard-agent.pkg/Payload", "vcguard-agent.pkg/Scripts"}
	if !slices.Equal(names, want) {
		t.Fatalf("xar holds %q, want %q", names, want)
	}
	payload, err := readCPIO(gunzip(t, a.File("vcguard-agent.pkg/Payload").Data))
	if err != nil {
		t.Fatal(err)
	}
	scripts, err := readCPIO(gunzip(t, a.File("vcguard-agent.pkg/Scripts").Data))
	if err != nil {
		t.Fatal(err)
	}
	bom, err := readBOM(a.File("vcguard-agent.pkg/Bom").Data)
	if err != nil {
		t.Fatal(err)
	}
	return a, payload, scripts, bom
}

func TestBuild(t *testing.T) {
	t.Parallel()
	pkg, thin := buildFake(t, "1.4.0-rc.1")
	a, payload, scripts, bom := readPackage(t, pkg)

	// Every path of the Bom is in the Payload, the same way round.
	files := map[string]cpioEntry{}
	for _, e := range payload {
		files[e.Name] = e
	}
	if len(bom) != len(payload) {
		t.Errorf("Bom lists %d paths, Payload holds %d", len(bom), len(payload))
	}
	for _, b := range bom {
		c, ok := files[b.Path]
		if !ok {
			t.Errorf("Bom path %s not in the Payload", b.Path)
			continue
		}
		if b.Mode != c.Mode || b.UID != c.UID || b.GID != c.GID || b.Size != uint32(len(c.Data)) || b.MTime != uint32(c.MTime) {
			t.Errorf("%s: Bom says mode %o %d/%d %d bytes mtime %d, Payload %o %d/%d %d bytes mtime %d",
				b.Path, b.Mode, b.UID, b.GID, b.Size, b.MTime, c.Mode, c.UID, c.GID, len(c.Data), c.MTime)
		}
		if c.Mode&modeTypeMask == modeRegular && b.Checksum != cksum(c.Data) {
			t.Errorf("%s: Bom checksum %d, data's %d", b.Path, b.Checksum, cksum(c.Data))
		}
	}

	wantFiles := map[string]uint32{
		"./Library/Application Support/vcguard/vcguard-agent": modeRegular | 0o755,
		"./Library/Application Support/vcguard/uninstall.sh":  modeRegular | 0o755,
		"./Library/LaunchDaemons/eu.vcguard.agent.plist":      modeRegular | 0o644,
		"./Library/LaunchAgents/eu.vcguard.notifier.plist":    modeRegular | 0o644,
	}
	for p, mode := range wantFiles {
		if e, ok := files[p]; !ok || e.Mode != mode || e.UID != 0 || e.GID != 0 {
			t.Errorf("payload %s: %+v, want mode %o root:wheel", p, e, mode)
		}
	}
	for _, e := range payload {
		if e.Mode&modeTypeMask == modeRegular {
			if _, ok := wantFiles[e.Name]; !ok {
				t.Errorf("unexpected payload file %s", e.Name)
			}
		}
	}

	// The agent is a universal binary of both slices, unchanged.
	agent := files["./Library/Application Support/vcguard/vcguard-agent"].Data
	ff, err := macho.NewFatFile(bytes.NewReader(agent))
	if err != nil {
		t.Fatalf("agent: %v", err)
	}
	if len(ff.Arches) != 2 {
		t.Fatalf("agent has %d slices", len(ff.Arches))
	}
	for _, arch := range ff.Arches {
		if !bytes.Equal(agent[arch.Offset:arch.Offset+arch.Size], thin[arch.Cpu]) {
			t.Errorf("%v slice is not the %v agent", arch.Cpu, arch.Cpu)
		}
	}

	var scriptNames []string
	for _, e := range scripts {
		scriptNames = append(scriptNames, e.Name)
		if e.Name != "." && e.Mode != modeRegular|0o755 {
			t.Errorf("script %s mode %o", e.Name, e.Mode)
		}
	}
	if !slices.Equal(scriptNames, []string{".", "./postinstall", "./preinstall"}) {
		t.Errorf("Scripts holds %q", scriptNames)
	}

	// PackageInfo and Distribution are XML naming the identifier and version.
	var info struct {
		Identifier string `xml:"identifier,attr"`
		Version    string `xml:"version,attr"`
		Location   string `xml:"install-location,attr"`
		Auth       string `xml:"auth,attr"`
		Payload    struct {
			Files int `xml:"numberOfFiles,attr"`
		} `xml:"payload"`
		Scripts struct {
			Pre struct {
				File string `xml:"file,attr"`
			} `xml:"preinstall"`
			Post struct {
				File string `xml:"file,attr"`
			} `xml:"postinstall"`
		} `xml:"scripts"`
	}
	if err := xml.Unmarshal(a.File("vcguard-agent.pkg/PackageInfo").Data, &info); err != nil {
		t.Fatal(err)
	}
	if info.Identifier != "eu.vcguard.agent" || info.Version != "1.4.0-rc.1" || info.Location != "/" || info.Auth != "root" ||
		info.Payload.Files != len(payload) || info.Scripts.Pre.File != "./preinstall" || info.Scripts.Post.File != "./postinstall" {
		t.Errorf("PackageInfo: %+v", info)
	}
	var dist struct {
		Options struct {
			Arch string `xml:"hostArchitectures,attr"`
		} `xml:"options"`
		PkgRefs []struct {
			ID      string `xml:"id,attr"`
			Version string `xml:"version,attr"`
			Ref     string `xml:",chardata"`
		} `xml:"pkg-ref"`
	}
	if err := xml.Unmarshal(a.File("Distribution").Data, &dist); err != nil {
		t.Fatal(err)
	}
	if dist.Options.Arch != "x86_64,arm64" || len(dist.PkgRefs) != 1 || dist.PkgRefs[0].Ref != "#vcguard-agent.pkg" || dist.PkgRefs[0].Version != "1.4.0-rc.1" {
		t.Errorf("Distribution: %+v", dist)
	}

	// The same agents give the same package.
	b1, _ := os.ReadFile(pkg)
	st, _ := os.Stat(pkg)
	t.Logf("%s: %d bytes", filepath.Base(pkg), st.Size())
	if len(b1) == 0 {
		t.Fatal("empty package")
	}
}

func TestBuildRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "agent")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]installer.Release{
		"no arm64":    {Version: "1.0.0", OutDir: dir, Agent: map[installer.Target]string{darwinAmd64: script}},
		"bad version": {Version: "1.0", OutDir: dir, Agent: map[installer.Target]string{darwinAmd64: script, darwinArm64: script}},
		"not Mach-O":  {Version: "1.0.0", OutDir: dir, Agent: map[installer.Target]string{darwinAmd64: script, darwinArm64: script}},
	} {
		if _, err := Build(r); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

func TestBuildReproducible(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	amd, arm := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(amd, fakeMachO(macho.CpuAmd64, 3, 100), 0o755)
	os.WriteFile(arm, fakeMachO(macho.CpuArm64, 0, 100), 0o755)
	var got [][]byte
	for _, out := range []string{"x", "y"} {
		p, err := Build(installer.Release{Version: "2.0.0", OutDir: filepath.Join(dir, out),
			Agent: map[installer.Target]string{darwinAmd64: amd, darwinArm64: arm}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p[0])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	if !bytes.Equal(got[0], got[1]) {
		t.Error("two builds from the same agents differ")
	}
}

// TestBuildWithTools reads the package with independent tools: bsdtar
// (libarchive-tools) lists the xar and extracts the Payload, gzip and
// cpio list it.
func TestBuildWithTools(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bsdtar", "gzip", "cpio"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian packages libarchive-tools, gzip, cpio)", tool)
		}
	}
	pkg, _ := buildFake(t, "1.4.0")
	_, payload, _, _ := readPackage(t, pkg)

	out, err := exec.Command("bsdtar", "-tf", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("bsdtar -tf: %v\n%s", err, out)
	}
	listed := strings.Fields(strings.ReplaceAll(string(out), "\n", " "))
	slices.Sort(listed)
	want := []string{"Distribution", "vcguard-agent.pkg", "vcguard-agent.pkg/Bom", "vcguard-agent.pkg/PackageInfo", "vcguard-agent.pkg/Payload", "vcguard-agent.pkg/Scripts"}
	if !slices.Equal(listed, want) {
		t.Errorf("bsdtar -tf lists %q, want %q", listed, want)
	}

	cmd := exec.Command("sh", "-c", `bsdtar -xOf "$1" vcguard-agent.pkg/Payload | gzip -d | cpio -it --quiet`, "sh", pkg)
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bsdtar | gzip -d | cpio -t: %v\n%s", err, out)
	}
	cpioNames := strings.Split(strings.TrimSpace(string(out)), "\n")
	var ours []string
	for _, e := range payload {
		ours = append(ours, e.Name)
	}
	if !slices.Equal(cpioNames, ours) {
		t.Errorf("cpio -t lists %q, our reader %q", cpioNames, ours)
	}

	// bsdtar extracts Distribution (zlib in the heap) intact.
	out, err = exec.Command("bsdtar", "-xOf", pkg, "Distribution").Output()
	if err != nil || !bytes.Contains(out, []byte("installer-gui-script")) {
		t.Errorf("bsdtar -xOf Distribution: %v\n%s", err, out)
	}
}

// TestInstalledFilesGolden compares the launchd plists and scripts the
// package installs with testdata/ (go test -update rewrites them), checks
// the plists' keys and the scripts' syntax.
func TestInstalledFilesGolden(t *testing.T) {
	t.Parallel()
	pkg, _ := buildFake(t, "1.4.0")
	_, payload, scripts, _ := readPackage(t, pkg)
	got := map[string][]byte{}
	for _, e := range append(payload, scripts...) {
		got[e.Name] = e.Data
	}
	for golden, name := range map[string]string{
		"eu.vcguard.agent.plist":    "./Library/LaunchDaemons/eu.vcguard.agent.plist",
		"eu.vcguard.notifier.plist": "./Library/LaunchAgents/eu.vcguard.notifier.plist",
		"uninstall.sh":              "./Library/Application Support/vcguard/uninstall.sh",
		"postinstall":               "./postinstall",
		"preinstall":                "./preinstall",
	} {
		data, ok := got[name]
		if !ok {
			t.Errorf("%s not in the package", name)
			continue
		}
		path := filepath.Join("testdata", "golden", golden)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -update writes it)", err)
		}
		if !bytes.Equal(data, want) {
			t.Errorf("%s differs from %s (go test -update rewrites it after review)", name, path)
		}
	}

	type launchd struct {
		Label                  string
		ProgramArguments       []string
		RunAtLoad              bool
		KeepAlive              bool
		LimitLoadToSessionType string
	}
	for name, want := range map[string]launchd{
		"./Library/LaunchDaemons/eu.vcguard.agent.plist": {
			Label:            "eu.vcguard.agent",
			ProgramArguments: []string{AgentPath, "run", "--service", "--log-file", "/Library/Logs/vcguard/agent.log"},
			RunAtLoad:        true, KeepAlive: true,
		},
		"./Library/LaunchAgents/eu.vcguard.notifier.plist": {
			Label:            "eu.vcguard.notifier",
			ProgramArguments: []string{AgentPath, "notifier"},
			RunAtLoad:        true, KeepAlive: true, LimitLoadToSessionType: "Aqua",
		},
	} {
		var l launchd
		if _, err := plist.Unmarshal(got[name], &l); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if l.Label != want.Label || !slices.Equal(l.ProgramArguments, want.ProgramArguments) || l.RunAtLoad != want.RunAtLoad ||
			l.KeepAlive != want.KeepAlive || l.LimitLoadToSessionType != want.LimitLoadToSessionType {
			t.Errorf("%s: %+v, want %+v", name, l, want)
		}
	}

	post := string(got["./postinstall"])
	for _, s := range []string{
		`/bin/launchctl bootstrap "$domain" "$plist"`,
		`bootstrap system "$DAEMON_PLIST" "$DAEMON"`,
		`/bin/launchctl kickstart -k "system/$DAEMON"`,
		`bootstrap "gui/$uid" "$AGENT_PLIST" "$AGENT"`,
	} {
		if !strings.Contains(post, s) {
			t.Errorf("postinstall lacks %s", s)
		}
	}
	for _, name := range []string{"./postinstall", "./preinstall", "./Library/Application Support/vcguard/uninstall.sh"} {
		if !bytes.HasPrefix(got[name], []byte("#!/bin/sh\n")) {
			t.Errorf("%s does not start with #!/bin/sh", name)
		}
		cmd := exec.Command("sh", "-n")
		cmd.Stdin = bytes.NewReader(got[name])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v\n%s", name, err, out)
		}
	}
}

// TestEmbeddedFiles checks installer/darwin embeds what the package ships.
func TestEmbeddedFiles(t *testing.T) {
	t.Parallel()
	for _, n := range []string{darwin.AgentPlist, darwin.NotifierPlist, darwin.Preinstall, darwin.Postinstall, darwin.Uninstall} {
		if b, err := fs.ReadFile(darwin.Files, n); err != nil || len(b) == 0 {
			t.Errorf("%s: %v", n, err)
		}
	}
}

// TestBuildRealAgents builds a small Go program for darwin/amd64 and
// darwin/arm64 (the linker ad-hoc signs the arm64 one) and packages them.
func TestBuildRealAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"vcguard\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module fake\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	agents := map[installer.Target]string{}
	for _, tg := range []installer.Target{darwinAmd64, darwinArm64} {
		out := filepath.Join(dir, "agent-"+tg.GOARCH)
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH="+tg.GOARCH, "CGO_ENABLED=0", "GOFLAGS=")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", tg, err, b)
		}
		agents[tg] = out
	}
	p, err := Build(installer.Release{Version: "1.0.0", Agent: agents, OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, payload, _, _ := readPackage(t, p[0])
	for _, e := range payload {
		if strings.HasSuffix(e.Name, "/vcguard-agent") {
			ff, err := macho.NewFatFile(bytes.NewReader(e.Data))
			if err != nil {
				t.Fatal(err)
			}
			var cpus []string
			for _, a := range ff.Arches {
				cpus = append(cpus, a.Cpu.String())
			}
			if !slices.Equal(cpus, []string{"CpuAmd64", "CpuArm64"}) {
				t.Errorf("universal agent slices %v", cpus)
			}
		}
	}
}
