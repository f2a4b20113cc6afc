package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Every binary has version and help commands that do only that (the
// server's version starts no server and creates no data directory), and
// one exit-status convention: 0 for success, 2 for a usage error (an
// unknown flag or command), with a message naming what was wrong.
func TestCommandLineConventions(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		bin    string
		args   []string
		code   int
		output string // in stdout or stderr
	}{
		{"vcguard-server", []string{"version"}, 0, "vcguard-server "},
		{"vcguard-server", []string{"--version"}, 0, "vcguard-server "},
		{"vcguard-server", []string{"help"}, 0, "vcguard-server admin COMMAND"},
		{"vcguard-server", []string{"--help"}, 0, "vcguard-server version"},
		{"vcguard-server", []string{"--bogus"}, 2, "-bogus"},
		{"vcguard-server", []string{"bogus"}, 2, `unexpected argument "bogus"`},
		{"vcguard-server", []string{"--retention", "1m"}, 2, "--retention"},
		{"vcguard-agent", []string{"version"}, 0, "vcguard-agent "},
		{"vcguard-agent", []string{"help"}, 0, "usage: vcguard-agent"},
		{"vcguard-agent", []string{"--bogus"}, 2, "bogus"},
		{"vcguard-agent", []string{"bogus"}, 2, "bogus"},
		{"vcguard-agent", []string{"status", "--bogus"}, 2, "bogus"},
		{"vcguardctl", []string{"version"}, 0, "vcguardctl "},
		{"vcguardctl", []string{"help"}, 0, "Usage: vcguardctl"},
		{"vcguardctl", []string{"--bogus"}, 2, "bogus"},
		{"vcguardctl", []string{"bogus"}, 2, "bogus"},
	} {
		name := c.bin + " " + strings.Join(c.args, " ")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cmd := exec.Command(filepath.Join(binDir, c.bin), c.args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "VCGUARD_SERVER=", "VCGUARD_TOKEN=")
			out, err := cmd.CombinedOutput()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code || !strings.Contains(string(out), c.output) {
				t.Errorf("%s: exit %d, want %d; output lacks %q:\n%s", name, code, c.code, c.output, out)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("%s created %v in its working directory", name, entries)
			}
		})
	}
}

// A client pointed at the other port of a real server is told which port
// it needs: vcguardctl at the agents' gRPC port, an agent enrolling at the
// dashboard's HTTPS port.
func TestWrongPortIsExplained(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"), freeAddr(t), freeAddr(t))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := runCmd(ctx, "vcguardctl", "--server", "https://"+s.grpcAddr, "--cacert", filepath.Join(s.data, "ca.pem"),
		"--token-file", filepath.Join(s.data, "admin-token"), "devices")
	if err == nil || !strings.Contains(out, "gRPC port") || !strings.Contains(out, "--http-addr") {
		t.Errorf("vcguardctl at the gRPC port: %v\n%s", err, out)
	}
	out, err = runCmd(ctx, "vcguard-agent", "enroll", "--server", s.httpAddr, "--ca-file", filepath.Join(s.data, "ca.pem"),
		"--enroll-secret-file", filepath.Join(s.data, "enroll-secret"), "--state-dir", filepath.Join(t.TempDir(), "agent"))
	if err == nil || !strings.Contains(out, "--grpc-addr") || strings.Contains(out, "404 page not found") {
		t.Errorf("vcguard-agent enroll at the HTTPS port: %v\n%s", err, out)
	}
}
