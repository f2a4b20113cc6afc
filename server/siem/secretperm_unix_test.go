//go:build unix

package siem_test

import (
	"os"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/server/siem"
)

func TestLoadSecretRefusesReadableByOthers(t *testing.T) {
	p := writeSecret(t, strings.Repeat("a", 40))
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := siem.LoadSecret(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable secret: %v", err)
	}
}
