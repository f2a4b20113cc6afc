// Package linuxpkg builds the agent's Debian and RPM packages with nfpm
// (github.com/goreleaser/nfpm/v2, as a library): for amd64 and arm64,
//
//	vcguard-agent_<version>_amd64.deb    vcguard-agent-<version>.x86_64.rpm
//	vcguard-agent_<version>_arm64.deb    vcguard-agent-<version>.aarch64.rpm
//
// Each installs the agent as /usr/bin/vcguard-agent, its systemd unit, the
// configuration file /etc/vcguard/agent.yaml (kept when changed), the
// notifier's XDG autostart entry and the maintainer scripts; all of them
// come from installer/linux, where they are reviewed as files.
//
// Versions: a release's MAJOR.MINOR.PATCH[-PRERELEASE] becomes version
// MAJOR.MINOR.PATCH[~PRERELEASE] with package release (Debian revision,
// rpm Release) 1 in both formats: "1.4.0-rc.1" is 1.4.0~rc.1-1, "1.4.0"
// is 1.4.0-1. A tilde sorts before anything, so dpkg and rpm (4.10 and
// later) order 1.4.0~rc.1 before 1.4.0 and upgrade one to the other. The
// hyphen could not stay: dpkg would read "1.4.0-rc.1" as version 1.4.0,
// revision rc.1, and rpm forbids a hyphen in a version. The file names
// keep the release's own spelling (vcguard-agent-1.4.0-rc.1.x86_64.rpm).
package linuxpkg

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/goreleaser/nfpm/v2/rpm"
	"github.com/vcguard/vcguard/installer"
	"github.com/vcguard/vcguard/installer/linux"
	"github.com/vcguard/vcguard/internal/atomicfile"
)

// Targets are the architectures Build packages; the release must carry an
// agent for each.
var Targets = []installer.Target{{GOOS: "linux", GOARCH: "amd64"}, {GOOS: "linux", GOARCH: "arm64"}}

// Where the packages install their files.
const (
	AgentPath     = "/usr/bin/vcguard-agent"
	UnitPath      = "/usr/lib/systemd/system/vcguard-agent.service"
	ConfigPath    = "/etc/vcguard/agent.yaml"
	PolicyDir     = "/etc/vcguard/policy.d"
	AutostartPath = "/etc/xdg/autostart/vcguard-notifier.desktop"
)

const (
	name        = "vcguard-agent"
	description = "vcguard agent: videoconferencing tools against the organisation's policy\n" +
		"Sees which videoconferencing tools run on this machine and which use the\n" +
		"camera or microphone, judges them against the organisation's policy, tells\n" +
		"the user and reports to the vcguard server. Runs as the systemd service\n" +
		"vcguard-agent; the per-user notifier starts at login."
	homepage   = "https://github.com/vcguard/vcguard"
	maintainer = "vcguard project <https://github.com/vcguard/vcguard>"
)

// Format is a package format Build writes.
type Format string

// The formats.
const (
	Deb Format = "deb"
	RPM Format = "rpm"
)

// FileName is the name Build gives the package of format f for target t.
func FileName(f Format, version string, t installer.Target) string {
	if f == RPM {
		return fmt.Sprintf("%s-%s.%s.rpm", name, version, rpmArch(t.GOARCH))
	}
	return fmt.Sprintf("%s_%s_%s.deb", name, version, t.GOARCH)
}

func rpmArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return goarch
}

// PackageVersion splits a release version into the version and prerelease
// both formats record: "1.4.0-rc.1" is "1.4.0" and "rc.1", written
// 1.4.0~rc.1.
func PackageVersion(version string) (core, prerelease string) {
	core, prerelease, _ = strings.Cut(version, "-")
	return core, prerelease
}

// Build writes the deb and rpm packages of r for every target in Targets
// into r.OutDir and returns their paths.
func Build(r installer.Release) ([]string, error) {
	return build(r, Targets, []Format{Deb, RPM})
}

// build writes the packages of the given formats for the given targets.
func build(r installer.Release, targets []installer.Target, formats []Format) ([]string, error) {
	if err := r.Validate(targets...); err != nil {
		return nil, fmt.Errorf("linux packages: %w", err)
	}
	stage, err := os.MkdirTemp("", "vcguard-linuxpkg-")
	if err != nil {
		return nil, fmt.Errorf("linux packages: %w", err)
	}
	defer os.RemoveAll(stage)
	src, err := stageFiles(stage)
	if err != nil {
		return nil, fmt.Errorf("linux packages: %w", err)
	}
	if err := os.MkdirAll(r.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("linux packages: output directory: %w", err)
	}
	var out []string
	for _, t := range targets {
		for _, f := range formats {
			path := filepath.Join(r.OutDir, FileName(f, r.Version, t))
			if err := write(path, f, info(r.Version, t, r.Agent[t], f, src)); err != nil {
				return out, fmt.Errorf("linux packages: %s: %w", filepath.Base(path), err)
			}
			out = append(out, path)
		}
	}
	return out, nil
}

// stageFiles copies the embedded files to dir, where nfpm reads them, and
// returns their paths by name.
func stageFiles(dir string) (map[string]string, error) {
	src := map[string]string{}
	for _, n := range []string{linux.Unit, linux.Config, linux.NotifierAutostart, linux.PostInstall, linux.PreRemove, linux.PostRemove} {
		data, err := linux.Files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, err
		}
		src[n] = p
	}
	return src, nil
}

func write(path string, f Format, in *nfpm.Info) error {
	var pkg nfpm.Packager = deb.Default
	if f == RPM {
		pkg = rpm.DefaultRPM
	}
	in = nfpm.WithDefaults(in)
	if err := nfpm.PrepareForPackager(in, string(f)); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pkg.Package(in, &buf); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}

// info describes one package: the agent at agentPath for target t, the
// staged files src.
func info(version string, t installer.Target, agentPath string, f Format, src map[string]string) *nfpm.Info {
	core, pre := PackageVersion(version)
	root := func(mode os.FileMode) *files.ContentFileInfo {
		return &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode}
	}
	in := &nfpm.Info{
		Name:     name,
		Arch:     t.GOARCH,
		Platform: "linux",
		Version:  core, Prerelease: pre,
		// The split above is the whole story: nfpm must not parse it again.
		VersionSchema: "none",
		Release:       "1",
		Section:       "admin",
		Priority:      "optional",
		Maintainer:    maintainer,
		Description:   description,
		Vendor:        "vcguard",
		Homepage:      homepage,
		Overridables: nfpm.Overridables{
			Contents: files.Contents{
				{Source: agentPath, Destination: AgentPath, FileInfo: root(0o755)},
				{Source: src[linux.Unit], Destination: UnitPath, FileInfo: root(0o644)},
				// Readable by every user: `vcguard-agent status` reads it.
				{Source: src[linux.Config], Destination: ConfigPath, Type: files.TypeConfigNoReplace, FileInfo: root(0o644)},
				{Destination: "/etc/vcguard", Type: files.TypeDir, FileInfo: root(0o755)},
				// The agent refuses policy drop-ins others may write.
				{Destination: PolicyDir, Type: files.TypeDir, FileInfo: root(0o755)},
				{Source: src[linux.NotifierAutostart], Destination: AutostartPath, FileInfo: root(0o644)},
			},
			Scripts: nfpm.Scripts{
				PostInstall: src[linux.PostInstall],
				PreRemove:   src[linux.PreRemove],
				PostRemove:  src[linux.PostRemove],
			},
			RPM: nfpm.RPM{
				Summary: "vcguard agent: videoconferencing tools against the organisation's policy",
				Group:   "System Environment/Daemons",
				// A fixed build host keeps the package the same wherever
				// it is built.
				BuildHost:   "vcguard",
				Compression: "gzip",
				Packager:    "vcguard",
			},
			Deb: nfpm.Deb{Compression: "gzip"},
		},
	}
	// The agent reads capture streams with pw-dump (PipeWire) or pactl
	// (PulseAudio) where the session has them; desktops have one already.
	switch f {
	case Deb:
		in.Recommends = []string{"pipewire-bin | pulseaudio-utils"}
	case RPM:
		in.Recommends = []string{"pipewire-utils"}
	}
	return in
}
