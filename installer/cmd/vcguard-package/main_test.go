package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SHA256SUMS is what `sha256sum -c` checks, in name order.
func TestWriteSums(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for name, data := range map[string]string{"b.msi": "msi", "a.deb": "deb", "c.pkg": ""} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	sums, err := writeSums(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(sums)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "  a.deb") || !strings.HasSuffix(lines[2], "  c.pkg") {
		t.Errorf("SHA256SUMS =\n%s", data)
	}
	cmd := exec.Command("sha256sum", "-c", "SHA256SUMS")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, out)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (&config{SignCert: "c.pem"}).Validate(); err == nil {
		t.Error("a certificate without its key was accepted")
	}
	if err := (&config{}).Validate(); err != nil {
		t.Errorf("no signing: %v", err)
	}
}
