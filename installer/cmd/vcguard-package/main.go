// Command vcguard-package builds every installer MDM rolls out, from Linux
// and without Docker (`make packages`): it builds vcguard-agent for each
// target, then the .deb and .rpm files, the Windows .msi, the macOS .pkg and
// the MDM profile, and writes SHA256SUMS over all of them.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vcguard/vcguard/installer"
	"github.com/vcguard/vcguard/installer/linuxpkg"
	"github.com/vcguard/vcguard/installer/macpkg"
	"github.com/vcguard/vcguard/installer/mobileconfig"
	"github.com/vcguard/vcguard/installer/msi"
)

// targets are the platforms the packages ship the agent for.
var targets = []installer.Target{
	{GOOS: "linux", GOARCH: "amd64"}, {GOOS: "linux", GOARCH: "arm64"},
	{GOOS: "darwin", GOARCH: "amd64"}, {GOOS: "darwin", GOARCH: "arm64"},
	{GOOS: "windows", GOARCH: "amd64"},
}

type config struct {
	Version, Out, SignCert, SignKey string
	Profile                         mobileconfig.Config
}

func (c *config) Validate() error {
	if (c.SignCert == "") != (c.SignKey == "") {
		return errors.New("--sign-cert and --sign-key go together")
	}
	return nil
}

func main() {
	var c config
	flag.StringVar(&c.Version, "version", "", "release version, MAJOR.MINOR.PATCH[-PRERELEASE] (required)")
	flag.StringVar(&c.Out, "out", "dist", "output directory")
	flag.StringVar(&c.SignCert, "sign-cert", "", "Authenticode certificate (PEM) to sign the Windows installer with")
	flag.StringVar(&c.SignKey, "sign-key", "", "its private key (PEM)")
	flag.StringVar(&c.Profile.Server, "profile-server", "", "server HOST:PORT written into vcguard.mobileconfig (default: a placeholder IT replaces)")
	flag.StringVar(&c.Profile.CAFingerprint, "profile-ca-fingerprint", "", "SHA-256 fingerprint of the server CA for vcguard.mobileconfig")
	flag.StringVar(&c.Profile.DeviceGroup, "profile-group", "", "device group for vcguard.mobileconfig")
	flag.Parse()
	if err := c.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "vcguard-package:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "vcguard-package:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	r := installer.Release{Version: c.Version, OutDir: c.Out, SignCert: c.SignCert, SignKey: c.SignKey, Agent: map[installer.Target]string{}}
	if err := r.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return err
	}
	build, err := os.MkdirTemp("", "vcguard-package-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(build)
	for _, t := range targets {
		bin, err := buildAgent(ctx, build, t, c.Version)
		if err != nil {
			return err
		}
		r.Agent[t] = bin
	}
	var files []string
	for _, b := range []struct {
		name  string
		build func() ([]string, error)
	}{
		{"deb and rpm", func() ([]string, error) { return linuxpkg.Build(r) }},
		{"msi", func() ([]string, error) { return msi.Build(r) }},
		{"pkg", func() ([]string, error) { return macpkg.Build(r) }},
		{"mobileconfig", func() ([]string, error) { return mobileconfig.Build(r, c.Profile) }},
	} {
		out, err := b.build()
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		files = append(files, out...)
	}
	sums, err := writeSums(c.Out, files)
	if err != nil {
		return err
	}
	for _, f := range append(files, sums) {
		fmt.Println(f)
	}
	return nil
}

// buildAgent builds vcguard-agent for t, as `make build` does.
func buildAgent(ctx context.Context, dir string, t installer.Target, version string) (string, error) {
	out := filepath.Join(dir, t.GOOS+"-"+t.GOARCH, "vcguard-agent")
	if t.GOOS == "windows" {
		out += ".exe"
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "grpcnotrace", "-ldflags", "-s -w -X main.version="+version, "-o", out, "github.com/vcguard/vcguard/agent/cmd/vcguard-agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.GOOS, "GOARCH="+t.GOARCH)
	if o, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build vcguard-agent for %s: %v\n%s", t, err, o)
	}
	return out, nil
}

// writeSums writes SHA256SUMS in dir over files, in the format sha256sum -c
// reads.
func writeSums(dir string, files []string) (string, error) {
	var lines []string
	for _, f := range files {
		sum, err := fileSHA256(f)
		if err != nil {
			return "", err
		}
		lines = append(lines, sum+"  "+filepath.Base(f))
	}
	slices.SortFunc(lines, func(a, b string) int { return strings.Compare(a[66:], b[66:]) })
	path := filepath.Join(dir, "SHA256SUMS")
	return path, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
