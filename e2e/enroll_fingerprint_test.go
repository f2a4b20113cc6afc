package e2e

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEnrollByFingerprint: the real agent enrolls with the real server
// knowing only the SHA-256 of the server's CA (as an MDM hands it out) and
// an enrollment secret stored with `enroll-secret --stdin`. A wrong
// fingerprint is refused before the secret is sent, a device group the
// secret does not grant is refused by the server, and neither refusal uses
// up the stored secret. The enrollment that succeeds pins the server's CA
// as ca.pem, deletes the stored secret, and no log shows the secret.
func TestEnrollByFingerprint(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	secretBytes, err := os.ReadFile(filepath.Join(s.data, "enroll-secret"))
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(string(secretBytes))
	caPEM, err := os.ReadFile(filepath.Join(s.data, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caPEM)
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(block.Bytes)
	var colons []string
	for _, b := range sum {
		colons = append(colons, strings.ToUpper(hex.EncodeToString([]byte{b})))
	}
	fingerprint := strings.Join(colons, ":") // as openssl prints it
	wrong := sha256.Sum256([]byte("not the CA"))

	root := t.TempDir()
	state := filepath.Join(root, "agent")
	agent := filepath.Join(binDir, "vcguard-agent")
	var outputs []string
	runAgent := func(stdin string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(agent, args...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), "VCGUARD_SERVER=") // this test's flags only
		out, err := cmd.CombinedOutput()
		outputs = append(outputs, string(out))
		return string(out), err
	}
	// An empty configuration file: not whatever /etc holds on this machine.
	conf := filepath.Join(root, "agent.yaml")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--config", conf, "--state-dir", state}

	// The installer's step: the secret from standard input, kept private.
	if out, err := runAgent(secret+"\n", append([]string{"enroll-secret", "--stdin"}, common...)...); err != nil {
		t.Fatalf("enroll-secret --stdin: %v\n%s", err, out)
	}
	stored := filepath.Join(state, "enroll-secret")
	fi, err := os.Stat(stored)
	if err != nil {
		t.Fatalf("the secret was not stored: %v", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("stored secret mode %s: others may read it", fi.Mode().Perm())
	}

	enroll := func(extra ...string) (string, error) {
		return runAgent("", append(append([]string{"enroll", "--server", s.grpcAddr}, common...), extra...)...)
	}
	out, err := enroll("--ca-fingerprint", hex.EncodeToString(wrong[:]))
	if err == nil || !strings.Contains(out, "is not trusted (--ca-fingerprint)") || !strings.Contains(out, "no CA certificate in the server's chain has the configured fingerprint") {
		t.Fatalf("enroll with a wrong fingerprint: %v\n%s", err, out)
	}
	t.Logf("a wrong fingerprint: %s", out)
	out, err = enroll("--ca-fingerprint", fingerprint, "--device-group", "board")
	if err == nil || !strings.Contains(out, `grants no group, not the requested group "board"`) {
		t.Fatalf("enroll into a group the secret does not grant: %v\n%s", err, out)
	}
	t.Logf("a group the secret does not grant: %s", out)
	if _, err := os.Stat(stored); err != nil {
		t.Fatalf("a refused enrollment used up the stored secret: %v", err)
	}
	if _, err := os.Stat(filepath.Join(state, "identity.json")); err == nil {
		t.Fatal("a refused enrollment left an identity")
	}

	// The service: enrolls by fingerprint with the stored secret, then
	// streams with the pinned CA.
	p := start(t, "vcguard-agent", state+"-agent.log", append([]string{"run", "--server", s.grpcAddr, "--ca-fingerprint", fingerprint,
		"--scan-interval", "200ms", "--policy-dir", state + "-policy.d", "--status-file", state + "-status.json",
		"--notify-socket", filepath.Join(root, "notify", "notify.sock")}, common...)...)
	waitFor(t, 20*time.Second, "the agent enrolled by fingerprint and online", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].Online
	})
	pinned, err := os.ReadFile(filepath.Join(state, "ca.pem"))
	if err != nil || !bytes.Equal(bytes.TrimSpace(pinned), bytes.TrimSpace(caPEM)) {
		t.Errorf("the pinned ca.pem is not the server's CA (%v):\n%s", err, pinned)
	}
	if _, err := os.Stat(stored); err == nil {
		t.Error("the stored enrollment secret is still there after enrolling")
	}
	out, err = runAgent("", append([]string{"status", "--server", s.grpcAddr, "--ca-fingerprint", fingerprint, "--status-file", state + "-status.json"}, common...)...)
	if err != nil || !strings.Contains(out, "Server:      "+s.grpcAddr+" (flag --server)") || !strings.Contains(out, "(flag --ca-fingerprint)") {
		t.Errorf("status: %v\n%s", err, out)
	}
	p.stop(t)

	logs := append([]string(nil), outputs...)
	for _, path := range []string{p.log, s.log} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, string(data))
	}
	for _, l := range logs {
		if strings.Contains(l, secret) {
			t.Errorf("the enrollment secret appears in a log or output:\n%s", l)
		}
	}
}
