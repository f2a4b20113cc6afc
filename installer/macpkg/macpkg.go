// Package macpkg builds the macOS installer, vcguard-agent-<version>.pkg:
// a flat package (xar archive) with a Distribution, so MDM and Installer
// treat it as a product archive, and one component package,
// vcguard-agent.pkg, holding PackageInfo, Bom, Payload and Scripts.
//
// The Payload installs the agent as one universal (x86_64 + arm64) binary
// at /Library/Application Support/vcguard/vcguard-agent, its LaunchDaemon,
// the notifier's LaunchAgent and uninstall.sh (all from installer/darwin).
// preinstall stops an older version; postinstall bootstraps the daemon and
// the console user's notifier.
//
// Everything is written from Linux with the standard library: the xar,
// Bom, odc cpio and universal Mach-O writers are in this package, each
// with a reader the tests use. The package is not signed: productsign
// needs a Developer ID Installer certificate and, today, a Mac.
package macpkg

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vcguard/vcguard/installer"
	"github.com/vcguard/vcguard/installer/darwin"
	"github.com/vcguard/vcguard/internal/atomicfile"
)

// Identifier is the package identifier: the receipt's name in pkgutil
// (pkgutil --pkg-info eu.vcguard.agent) and MDM's detection key.
const Identifier = "eu.vcguard.agent"

// componentName is the component package's directory inside the xar.
const componentName = "vcguard-agent.pkg"

// MinOSVersion is the oldest macOS the package installs on: Go 1.26
// binaries need macOS 12 Monterey.
const MinOSVersion = "12.0"

// Installed paths.
const (
	AgentPath     = "/Library/Application Support/vcguard/vcguard-agent"
	UninstallPath = "/Library/Application Support/vcguard/uninstall.sh"
	DaemonPlist   = "/Library/LaunchDaemons/eu.vcguard.agent.plist"
	NotifierPlist = "/Library/LaunchAgents/eu.vcguard.notifier.plist"
)

// Targets are the agents Build needs.
var targets = []installer.Target{{GOOS: "darwin", GOARCH: "amd64"}, {GOOS: "darwin", GOARCH: "arm64"}}

// FileName is the name Build gives the package of version.
func FileName(version string) string { return "vcguard-agent-" + version + ".pkg" }

// Build writes vcguard-agent-<version>.pkg into r.OutDir and returns its
// path. Files carry the newest modification time of the two agents, so
// the same agents give the same package.
func Build(r installer.Release) ([]string, error) {
	if err := r.Validate(targets...); err != nil {
		return nil, fmt.Errorf("macOS package: %w", err)
	}
	var thin [][]byte
	var mtime time.Time
	for _, t := range targets {
		p := r.Agent[t]
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("macOS package: read the %s agent: %w", t, err)
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("macOS package: %w", err)
		}
		if st.ModTime().After(mtime) {
			mtime = st.ModTime()
		}
		thin = append(thin, b)
	}
	mtime = mtime.Truncate(time.Second)
	agent, err := universal(thin)
	if err != nil {
		return nil, fmt.Errorf("macOS package: universal agent from %s and %s: %w", r.Agent[targets[0]], r.Agent[targets[1]], err)
	}
	pkg, err := buildPackage(r.Version, agent, mtime)
	if err != nil {
		return nil, fmt.Errorf("macOS package: %w", err)
	}
	if err := os.MkdirAll(r.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("macOS package: %w", err)
	}
	out := filepath.Join(r.OutDir, FileName(r.Version))
	if err := atomicfile.WriteFile(out, pkg, 0o644); err != nil {
		return nil, fmt.Errorf("macOS package: write %s: %w", out, err)
	}
	return []string{out}, nil
}

// payloadFile is one file the Payload installs.
type payloadFile struct {
	path string // absolute install path
	mode uint32 // permission bits
	data []byte
}

// installDirs are the directories above the installed files, with the
// modes and owners macOS gives them (/Library/Application Support is
// root:admin). Installer leaves existing directories' modes alone.
var installDirs = []struct {
	path string
	mode uint32
	gid  uint32
}{
	{".", 0o755, 0},
	{"./Library", 0o755, 0},
	{"./Library/Application Support", 0o755, 80},
	{"./Library/Application Support/vcguard", 0o755, 0},
	{"./Library/LaunchAgents", 0o755, 0},
	{"./Library/LaunchDaemons", 0o755, 0},
}

func darwinFile(name string) []byte {
	b, err := fs.ReadFile(darwin.Files, name)
	if err != nil {
		panic("installer/darwin does not embed " + name) // a build mistake, caught by every test
	}
	return b
}

// payloadEntries lists the Payload in cpio order (parents first, sorted).
func payloadEntries(agent []byte, mtime time.Time) []cpioEntry {
	files := []payloadFile{
		{AgentPath, 0o755, agent},
		{UninstallPath, 0o755, darwinFile(darwin.Uninstall)},
		{DaemonPlist, 0o644, darwinFile(darwin.AgentPlist)},
		{NotifierPlist, 0o644, darwinFile(darwin.NotifierPlist)},
	}
	var entries []cpioEntry
	for _, d := range installDirs {
		entries = append(entries, cpioEntry{Name: d.path, Mode: modeDir | d.mode, GID: d.gid, MTime: mtime.Unix()})
	}
	for _, f := range files {
		entries = append(entries, cpioEntry{Name: "." + f.path, Mode: modeRegular | f.mode, MTime: mtime.Unix(), Data: f.data})
	}
	sort.SliceStable(entries, func(i, j int) bool {
		return strings.ReplaceAll(entries[i].Name, "/", "\x00") < strings.ReplaceAll(entries[j].Name, "/", "\x00")
	})
	return entries
}

func scriptEntries(mtime time.Time) []cpioEntry {
	return []cpioEntry{
		{Name: ".", Mode: modeDir | 0o755, MTime: mtime.Unix()},
		{Name: "./postinstall", Mode: modeRegular | 0o755, MTime: mtime.Unix(), Data: darwinFile(darwin.Postinstall)},
		{Name: "./preinstall", Mode: modeRegular | 0o755, MTime: mtime.Unix(), Data: darwinFile(darwin.Preinstall)},
	}
}

func gzipCPIO(entries []cpioEntry, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.ModTime = mtime
	if err := writeCPIO(zw, entries); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func bomOf(entries []cpioEntry) ([]byte, error) {
	var b []bomEntry
	for _, e := range entries {
		if len(e.Data) > 1<<32-1 {
			return nil, fmt.Errorf("%s: 4 GiB or more (the Bom's Size64 tree is not written)", e.Name)
		}
		be := bomEntry{Path: e.Name, Mode: e.Mode, UID: e.UID, GID: e.GID, MTime: uint32(e.MTime), Size: uint32(len(e.Data))}
		if e.Mode&modeTypeMask == modeRegular {
			be.Checksum = cksum(e.Data)
		}
		b = append(b, be)
	}
	return writeBOM(b)
}

func buildPackage(version string, agent []byte, mtime time.Time) ([]byte, error) {
	payloadList := payloadEntries(agent, mtime)
	payload, err := gzipCPIO(payloadList, mtime)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	scripts, err := gzipCPIO(scriptEntries(mtime), mtime)
	if err != nil {
		return nil, fmt.Errorf("scripts: %w", err)
	}
	bom, err := bomOf(payloadList)
	if err != nil {
		return nil, fmt.Errorf("bom: %w", err)
	}
	var installBytes int64
	for _, e := range payloadList {
		installBytes += int64(len(e.Data))
	}
	kbytes := (installBytes + 1023) / 1024
	info, err := packageInfo(version, len(payloadList), kbytes)
	if err != nil {
		return nil, err
	}
	dist, err := distribution(version, kbytes)
	if err != nil {
		return nil, err
	}
	files := []xarFile{
		{Name: "Distribution", Mode: 0o644, Data: dist, Compress: true},
		{Name: componentName, Dir: true, Mode: 0o755, Children: []xarFile{
			{Name: "Bom", Mode: 0o644, Data: bom, Compress: true},
			{Name: "PackageInfo", Mode: 0o644, Data: info, Compress: true},
			{Name: "Payload", Mode: 0o644, Data: payload},
			{Name: "Scripts", Mode: 0o644, Data: scripts},
		}},
	}
	var out bytes.Buffer
	if err := writeXAR(&out, files, mtime); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func xmlAttr(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) //nolint:errcheck // a strings.Builder does not fail
	return strings.ReplaceAll(b.String(), `"`, "&#34;")
}

// packageInfo is the component's PackageInfo: identifier, version, install
// location, that it needs root, and its scripts.
func packageInfo(version string, files int, kbytes int64) ([]byte, error) {
	return []byte(fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<pkg-info format-version="2" identifier="%s" version="%s" install-location="/" auth="root" generator-version="vcguard-package">
    <payload numberOfFiles="%d" installKBytes="%d"/>
    <bundle-version/>
    <upgrade-bundle/>
    <update-bundle/>
    <atomic-update-bundle/>
    <strict-identifier/>
    <relocate/>
    <scripts>
        <preinstall file="./preinstall"/>
        <postinstall file="./postinstall"/>
    </scripts>
</pkg-info>
`, Identifier, xmlAttr(version), files, kbytes)), nil
}

// distribution is the product archive's Distribution: one hidden choice,
// both architectures, the boot volume only, macOS 12 or newer.
func distribution(version string, kbytes int64) ([]byte, error) {
	return []byte(fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<installer-gui-script minSpecVersion="2">
    <title>vcguard agent</title>
    <options customize="never" require-scripts="false" hostArchitectures="x86_64,arm64"/>
    <domains enable_anywhere="false" enable_currentUserHome="false" enable_localSystem="true"/>
    <allowed-os-versions>
        <os-version min="%s"/>
    </allowed-os-versions>
    <choices-outline>
        <line choice="default">
            <line choice="%s"/>
        </line>
    </choices-outline>
    <choice id="default"/>
    <choice id="%s" visible="false">
        <pkg-ref id="%s"/>
    </choice>
    <pkg-ref id="%s" version="%s" onConclusion="none" installKBytes="%d">#%s</pkg-ref>
</installer-gui-script>
`, MinOSVersion, Identifier, Identifier, Identifier, Identifier, xmlAttr(version), kbytes, componentName)), nil
}
