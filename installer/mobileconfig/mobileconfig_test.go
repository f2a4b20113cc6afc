package mobileconfig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"howett.net/plist"

	"github.com/vcguard/vcguard/installer"
)

var uuidRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

func testCA(t *testing.T) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vcguard test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), hex.EncodeToString(sum[:])
}

// mustType fails unless m[key] exists with type T, and returns it.
func mustType[T any](t *testing.T, where string, m map[string]any, key string) T {
	t.Helper()
	v, ok := m[key]
	if !ok {
		t.Fatalf("%s: no %s", where, key)
	}
	x, ok := v.(T)
	if !ok {
		t.Fatalf("%s: %s is %T", where, key, v)
	}
	return x
}

// checkProfile parses a profile and checks the keys Apple requires of a
// Configuration profile and of each payload, returning the payloads by
// type.
func checkProfile(t *testing.T, b []byte) (map[string]any, map[string]map[string]any) {
	t.Helper()
	var p map[string]any
	format, err := plist.Unmarshal(b, &p)
	if err != nil {
		t.Fatal(err)
	}
	if format != plist.XMLFormat {
		t.Errorf("format %d, want XML", format)
	}
	if mustType[string](t, "profile", p, "PayloadType") != "Configuration" {
		t.Error("PayloadType is not Configuration")
	}
	if mustType[uint64](t, "profile", p, "PayloadVersion") != 1 {
		t.Error("PayloadVersion is not 1")
	}
	uuids := map[string]bool{}
	ids := map[string]bool{}
	for _, k := range []string{"PayloadIdentifier", "PayloadUUID", "PayloadDisplayName", "PayloadScope"} {
		mustType[string](t, "profile", p, k)
	}
	mustType[bool](t, "profile", p, "PayloadRemovalDisallowed")
	uuids[p["PayloadUUID"].(string)] = true
	ids[p["PayloadIdentifier"].(string)] = true
	byType := map[string]map[string]any{}
	for i, c := range mustType[[]any](t, "profile", p, "PayloadContent") {
		pl, ok := c.(map[string]any)
		if !ok {
			t.Fatalf("payload %d is %T", i, c)
		}
		typ := mustType[string](t, "payload", pl, "PayloadType")
		if mustType[uint64](t, typ, pl, "PayloadVersion") != 1 {
			t.Errorf("%s: PayloadVersion is not 1", typ)
		}
		u := mustType[string](t, typ, pl, "PayloadUUID")
		id := mustType[string](t, typ, pl, "PayloadIdentifier")
		mustType[string](t, typ, pl, "PayloadDisplayName")
		if !uuidRE.MatchString(u) || uuids[u] {
			t.Errorf("%s: PayloadUUID %s malformed or not unique", typ, u)
		}
		if !strings.HasPrefix(id, ProfileIdentifier+".") || ids[id] {
			t.Errorf("%s: PayloadIdentifier %s not unique under %s", typ, id, ProfileIdentifier)
		}
		uuids[u], ids[id] = true, true
		byType[typ] = pl
	}
	if !uuidRE.MatchString(p["PayloadUUID"].(string)) {
		t.Errorf("profile PayloadUUID %s", p["PayloadUUID"])
	}
	for _, typ := range []string{"com.apple.ManagedClient.preferences", "com.apple.notificationsettings", "com.apple.servicemanagement"} {
		if byType[typ] == nil {
			t.Errorf("no %s payload", typ)
		}
	}
	return p, byType
}

// agentPrefs returns the managed preferences of the agent's domain.
func agentPrefs(t *testing.T, mcx map[string]any) map[string]any {
	t.Helper()
	content := mustType[map[string]any](t, "ManagedClient", mcx, "PayloadContent")
	domain := mustType[map[string]any](t, "ManagedClient", content, PreferenceDomain)
	forced := mustType[[]any](t, "ManagedClient", domain, "Forced")
	if len(forced) != 1 {
		t.Fatalf("%d Forced entries", len(forced))
	}
	return mustType[map[string]any](t, "Forced", forced[0].(map[string]any), "mcx_preference_settings")
}

func TestProfileWithValues(t *testing.T) {
	t.Parallel()
	caPEM, fp := testCA(t)
	dir := t.TempDir()
	out, err := Build(installer.Release{Version: "1.4.0", OutDir: dir}, Config{
		Server: "vcguard.example.eu:8443", EnrollSecret: "s3cret", CACertificatePEM: caPEM, DeviceGroup: "sales",
		Organization: "Example GmbH",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || filepath.Base(out[0]) != "vcguard.mobileconfig" {
		t.Fatalf("Build returned %v", out)
	}
	st, err := os.Stat(out[0])
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("a profile with a secret has mode %v", st.Mode().Perm())
	}
	b, err := os.ReadFile(out[0])
	if err != nil {
		t.Fatal(err)
	}
	p, byType := checkProfile(t, b)
	if p["PayloadOrganization"] != "Example GmbH" {
		t.Errorf("organisation %v", p["PayloadOrganization"])
	}
	prefs := agentPrefs(t, byType["com.apple.ManagedClient.preferences"])
	for k, want := range map[string]string{
		KeyServer: "vcguard.example.eu:8443", KeyEnrollSecret: "s3cret", KeyCAFingerprint: fp,
		KeyCACertificate: caPEM, KeyDeviceGroup: "sales",
	} {
		if got := mustType[string](t, "prefs", prefs, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if len(prefs) != 5 {
		t.Errorf("unexpected preference keys: %v", prefs)
	}

	ns := byType["com.apple.notificationsettings"]
	settings := mustType[[]any](t, "notificationsettings", ns, "NotificationSettings")
	if len(settings) != 1 {
		t.Fatalf("%d notification settings", len(settings))
	}
	s := settings[0].(map[string]any)
	if mustType[string](t, "notification", s, "BundleIdentifier") != NotifierBundleID || !mustType[bool](t, "notification", s, "NotificationsEnabled") {
		t.Errorf("notification settings %v", s)
	}
	if a := mustType[uint64](t, "notification", s, "AlertType"); a > 2 {
		t.Errorf("AlertType %d", a)
	}
	for _, k := range []string{"ShowInLockScreen", "ShowInNotificationCenter", "SoundsEnabled", "BadgesEnabled", "CriticalAlertEnabled"} {
		mustType[bool](t, "notification", s, k)
	}

	rules := mustType[[]any](t, "servicemanagement", byType["com.apple.servicemanagement"], "Rules")
	labels := map[string]bool{}
	for _, r := range rules {
		rm := r.(map[string]any)
		if mustType[string](t, "rule", rm, "RuleType") != "Label" {
			t.Errorf("rule %v", rm)
		}
		labels[mustType[string](t, "rule", rm, "RuleValue")] = true
	}
	if !labels[DaemonLabel] || !labels[NotifierLabel] || len(labels) != 2 {
		t.Errorf("service management labels %v", labels)
	}
}

func TestProfilePlaceholders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := Build(installer.Release{Version: "1.4.0", OutDir: dir}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(out[0])
	if st.Mode().Perm() != 0o644 {
		t.Errorf("a template profile has mode %v", st.Mode().Perm())
	}
	b, _ := os.ReadFile(out[0])
	_, byType := checkProfile(t, b)
	prefs := agentPrefs(t, byType["com.apple.ManagedClient.preferences"])
	for k, want := range map[string]string{
		KeyServer: PlaceholderServer, KeyEnrollSecret: PlaceholderEnrollSecret,
		KeyCAFingerprint: PlaceholderCAFingerprint, KeyDeviceGroup: PlaceholderDeviceGroup,
	} {
		if got := mustType[string](t, "prefs", prefs, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if _, ok := prefs[KeyCACertificate]; ok {
		t.Error("CACertificate written without a certificate")
	}
}

func TestProfileDeterministic(t *testing.T) {
	t.Parallel()
	cfg := Config{Server: "s:1", CAFingerprint: strings.Repeat("AB:", 31) + "AB"}
	a, err := Profile("1.0.0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Profile("1.0.0", cfg)
	c, _ := Profile("1.0.1", cfg)
	if !bytes.Equal(a, b) {
		t.Error("the same inputs gave different profiles")
	}
	_, pa := checkProfile(t, a)
	_, pc := checkProfile(t, c)
	if pa["com.apple.servicemanagement"]["PayloadUUID"] == pc["com.apple.servicemanagement"]["PayloadUUID"] {
		t.Error("a new version kept the payload UUID")
	}
	if got := agentPrefs(t, pa["com.apple.ManagedClient.preferences"])[KeyCAFingerprint]; got != strings.Repeat("ab", 32) {
		t.Errorf("fingerprint written as %v", got)
	}
}

func TestConfigRefused(t *testing.T) {
	t.Parallel()
	caPEM, _ := testCA(t)
	for name, cfg := range map[string]Config{
		"short fingerprint":    {CAFingerprint: "abcd"},
		"not PEM":              {CACertificatePEM: "hello"},
		"fingerprint mismatch": {CACertificatePEM: caPEM, CAFingerprint: strings.Repeat("00", 32)},
	} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := Build(installer.Release{Version: "1.0.0", OutDir: t.TempDir()}, cfg); err == nil {
			t.Errorf("%s: built", name)
		}
	}
	if _, err := Build(installer.Release{Version: "1.0.0"}, Config{}); err == nil {
		t.Error("built without an output directory")
	}
}

// A profile's UUIDs are stable across releases (an MDM takes a changed
// UUID for another profile): the value the hand-written v5 code gave
// before github.com/google/uuid replaced it.
func TestPayloadUUIDStable(t *testing.T) {
	if got, want := payloadUUID("eu.vcguard.agent"), "E6565308-A893-57D6-856E-63B2EA0E34F8"; got != want {
		t.Errorf("payloadUUID = %s, want %s", got, want)
	}
}
