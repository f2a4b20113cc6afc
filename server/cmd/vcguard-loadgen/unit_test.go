package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStatusKiB(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "status"))
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]int64{"VmRSS": 349284, "VmHWM": 365496} {
		got, err := parseStatusKiB(string(data), field)
		if err != nil || got != want {
			t.Errorf("%s = %d, %v; want %d", field, got, err, want)
		}
	}
	if _, err := parseStatusKiB(string(data), "VmNope"); err == nil {
		t.Error("a missing field gave no error")
	}
	if _, err := parseStatusKiB("VmRSS:\t12 MB\n", "VmRSS"); err == nil {
		t.Error("a unit other than kB gave no error")
	}
}

func TestSourceAddr(t *testing.T) {
	if sourceAddr(5, 0) != nil {
		t.Error("0 agents per address must leave the source to the kernel")
	}
	seen := map[string]int{}
	for i := range 100_000 {
		ip := sourceAddr(i, 32)
		if !ip.IsLoopback() || ip.To4() == nil || ip.To4()[3] == 0 || ip.To4()[3] == 255 {
			t.Fatalf("agent %d: %v is not a usable loopback address", i, ip)
		}
		seen[ip.String()]++
	}
	for ip, n := range seen {
		if n > 32 {
			t.Fatalf("%s is shared by %d agents, want at most 32", ip, n)
		}
	}
	if want := 100_000 / 32; len(seen) < want {
		t.Errorf("%d addresses, want at least %d", len(seen), want)
	}
	if got := sourceAddr(0, 32); !got.Equal(net.IPv4(127, 1, 0, 1)) {
		t.Errorf("first address %v", got)
	}
}

// testCA returns a CA and a client certificate for key issued by it.
func testCA(t *testing.T, key *ecdsa.PrivateKey, notAfter time.Time) (*x509.CertPool, []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "dev_test"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, der
}

func TestIdentityCache(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	roots, der := testCA(t, key, time.Now().Add(24*time.Hour))
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	id := &identity{DeviceID: "dev_test", PolicyKey: pub, Cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
	dir := t.TempDir()
	if err := saveIdentity(dir, 7, id); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(identityPath(dir, 7))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("identity file mode %v, want 0600", info.Mode().Perm())
	}
	got := loadIdentity(dir, 7, roots)
	if got == nil {
		t.Fatal("the saved identity was not loaded back")
	}
	if !got.Reused || got.DeviceID != "dev_test" || !got.PolicyKey.Equal(pub) || !got.Cert.PrivateKey.(*ecdsa.PrivateKey).Equal(key) {
		t.Errorf("loaded %+v", got)
	}
	if loadIdentity(dir, 8, roots) != nil {
		t.Error("a missing identity loaded")
	}
	otherRoots, _ := testCA(t, key, time.Now().Add(24*time.Hour))
	if loadIdentity(dir, 7, otherRoots) != nil {
		t.Error("an identity of another CA (another server) loaded")
	}
	// A certificate expiring within the hour is enrolled again.
	expiring, der2 := testCA(t, key, time.Now().Add(30*time.Minute))
	id.Cert.Certificate = [][]byte{der2}
	data, err := encodeIdentity(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeIdentity(data, expiring, time.Now()); err == nil {
		t.Error("a certificate expiring within the hour was accepted")
	}
	// A certificate for another key is refused.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id.Cert.Certificate, id.Cert.PrivateKey = [][]byte{der}, other
	data, _ = encodeIdentity(id)
	if _, err := decodeIdentity(data, roots, time.Now()); err == nil || !strings.Contains(err.Error(), "not for the key") {
		t.Errorf("a certificate for another key: %v", err)
	}
}

func TestEventCycle(t *testing.T) {
	base, now := time.Now(), time.Now()
	want := []string{"started", "camera on", "microphone on", "camera off", "microphone off", "stopped"}
	var pid int32
	for seq := uint64(6); seq < 12; seq++ {
		ev := eventFor(seq, base, now, 1)
		if ev.GetSeq() != seq || ev.GetTime() == nil {
			t.Fatalf("event %d: %v", seq, ev)
		}
		var got string
		if app := ev.GetApp(); app != nil {
			got = map[int32]string{1: "started", 2: "stopped"}[int32(app.GetKind())]
			if pid == 0 {
				pid = app.GetApp().GetPid()
			}
			if app.GetApp().GetPid() != pid {
				t.Errorf("app_stopped PID %d, started %d", app.GetApp().GetPid(), pid)
			}
		} else if m := ev.GetMedia(); m != nil {
			got = m.GetUse().GetKind() + map[bool]string{true: " on", false: " off"}[m.GetOn()]
		}
		if got != want[seq-6] {
			t.Errorf("event %d is %q, want %q", seq, got, want[seq-6])
		}
	}
	if eventFor(12, base, now, 1).GetApp().GetApp().GetPid() == pid {
		t.Error("the next meeting reuses the PID")
	}
}

func TestRepublished(t *testing.T) {
	at := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	if got := string(republished("name: x", at)); got != "name: x\n# published by vcguard-loadgen at 2026-12-06T00:00:00Z\n" {
		t.Errorf("YAML: %q", got)
	}
	if got := string(republished(`{"name":"x"}`, at)); got != "{\"name\":\"x\"}\n# published by vcguard-loadgen at 2026-12-06T00:00:00Z\n" {
		t.Errorf("JSON: %q", got)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"--data", "/srv/d", "--agents", "5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StateDir != filepath.Join("/srv/d", "loadgen") || cfg.Agents != 5 {
		t.Errorf("%+v", cfg)
	}
	for _, args := range [][]string{
		{"--agents", "0"},
		{"--batch", "1001"},
		{"--publish"},
		{"--server", "nope"},
		{"--duration", "0s"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
