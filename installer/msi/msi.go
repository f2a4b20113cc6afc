// Package msi builds the Windows installer, vcguard-agent-VERSION-x64.msi,
// from Linux with Debian's wixl (msitools): the agent as the vcguard-agent
// service (LocalSystem, automatic start, restarted on failure), the
// per-user notifier started at every logon, and the public properties
// SERVER, CA_FILE, CA_FINGERPRINT, DEVICE_GROUP (written to the agent's
// policy key) and ENROLL_SECRET (handed to the agent, never written to the
// registry or the log).
//
// Only x64 is built: wixl 0.101 knows the architectures intel, ia64 and
// x64 (intel64) and refuses arm64 ("arch of type 'arm64' is not
// supported"). Windows on Arm runs the x64 package and agent under its x64
// emulation.
//
// The tools it runs: wixl, msiinfo and msibuild (package msitools), and
// osslsigncode when the release is to be signed.
package msi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vcguard/vcguard/installer"
)

// agentFile is the agent's name, in the package and in the build directory.
const agentFile = "vcguard-agent.exe"

// Target is the agent build the installer ships.
var Target = installer.Target{GOOS: "windows", GOARCH: "amd64"}

// Build writes vcguard-agent-<version>-x64.msi into r.OutDir and returns its
// path. When r.SignCert and r.SignKey are set, both vcguard-agent.exe (inside
// the package) and the .msi are signed with osslsigncode (Authenticode,
// SHA-256, without a timestamp: that needs a network).
func Build(r installer.Release) ([]string, error) {
	return build(context.Background(), r)
}

func build(ctx context.Context, r installer.Release) ([]string, error) {
	if err := r.Validate(Target); err != nil {
		return nil, fmt.Errorf("msi: %w", err)
	}
	if (r.SignCert == "") != (r.SignKey == "") {
		return nil, errors.New("msi: signing needs both a certificate and a key")
	}
	work, err := os.MkdirTemp("", "vcguard-msi-")
	if err != nil {
		return nil, fmt.Errorf("msi: %w", err)
	}
	defer os.RemoveAll(work)

	agent := r.Agent[Target]
	if r.SignCert != "" {
		signed := filepath.Join(work, "signed.exe")
		if err := sign(ctx, r, agent, signed); err != nil {
			return nil, err
		}
		agent = signed
	}
	// wixl takes sources relative to its working directory only.
	if err := copyFile(agent, filepath.Join(work, agentFile)); err != nil {
		return nil, fmt.Errorf("msi: %w", err)
	}
	data, err := newWXSData(r.Version, agentFile)
	if err != nil {
		return nil, fmt.Errorf("msi: %w", err)
	}
	wxs, err := renderWXS(data)
	if err != nil {
		return nil, fmt.Errorf("msi: %w", err)
	}
	src := filepath.Join(work, "vcguard-agent.wxs")
	if err := os.WriteFile(src, wxs, 0o644); err != nil {
		return nil, fmt.Errorf("msi: %w", err)
	}
	built := filepath.Join(work, "vcguard-agent.msi")
	if _, err := runIn(ctx, work, "wixl", "-a", "x64", "-o", built, src); err != nil {
		return nil, err
	}
	if err := amend(ctx, work, built); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("msi: %w", err)
	}
	out := filepath.Join(r.OutDir, "vcguard-agent-"+r.Version+"-x64.msi")
	if r.SignCert != "" {
		signed := filepath.Join(work, "signed.msi")
		if err := sign(ctx, r, built, signed); err != nil {
			return nil, err
		}
		built = signed
	}
	if err := copyFile(built, out); err != nil {
		return nil, fmt.Errorf("msi: %w", err)
	}
	return []string{out}, nil
}

// amend does what wixl cannot: it adds the public properties to
// SecureCustomProperties in the Property table, sets HideTarget on the
// custom actions that carry the secret, and adds the Condition table that
// installs each policy value only when its property is set.
func amend(ctx context.Context, work, pkg string) error {
	idt, err := run(ctx, "msiinfo", "export", pkg, "Property")
	if err != nil {
		return err
	}
	idt, err = secureProperties(idt, publicProperties())
	if err != nil {
		return fmt.Errorf("msi: %s: %w", pkg, err)
	}
	actions, err := run(ctx, "msiinfo", "export", pkg, "CustomAction")
	if err != nil {
		return err
	}
	actions, err = hideTargets(actions, hiddenTargets)
	if err != nil {
		return fmt.Errorf("msi: %s: %w", pkg, err)
	}
	for table, data := range map[string][]byte{"Property": idt, "CustomAction": actions, "Condition": conditionTable(policies)} {
		// msibuild -i takes a file named after its table.
		file := filepath.Join(work, table+".idt")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			return fmt.Errorf("msi: %w", err)
		}
		if _, err := run(ctx, "msibuild", pkg, "-i", file); err != nil {
			return err
		}
	}
	return nil
}

// sign writes an Authenticode-signed copy of in (an .exe or .msi) to out.
func sign(ctx context.Context, r installer.Release, in, out string) error {
	_, err := run(ctx, "osslsigncode", "sign", "-certs", r.SignCert, "-key", r.SignKey,
		"-h", "sha256", "-n", "vcguard agent", "-i", "https://github.com/vcguard/vcguard",
		"-in", in, "-out", out)
	return err
}

// run runs a tool and returns its standard output; its error names the
// command and carries what the tool wrote to standard error.
func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return runIn(ctx, "", name, args...)
}

// runIn is run in the directory dir.
func runIn(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	if _, err := exec.LookPath(name); err != nil {
		return nil, fmt.Errorf("msi: %s not found: install %s: %w", name, toolPackage[name], err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = &stdout, &stderr, dir
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("msi: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()+"\n"+stdout.String()))
	}
	return stdout.Bytes(), nil
}

// toolPackage names the Debian package of each tool.
var toolPackage = map[string]string{
	"wixl":         "wixl",
	"msiinfo":      "msitools",
	"msibuild":     "msitools",
	"osslsigncode": "osslsigncode",
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
