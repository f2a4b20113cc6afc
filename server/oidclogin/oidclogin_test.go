package oidclogin

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/server/store"
)

func TestParseRoleMap(t *testing.T) {
	t.Parallel()
	m, err := ParseRoleMap(" /vcguard-admins=admin, 0b1c-group-id = analyst ,it-audit=auditor,,a=b=auditor")
	if err != nil {
		t.Fatal(err)
	}
	want := RoleMap{"/vcguard-admins": store.RoleAdmin, "0b1c-group-id": store.RoleAnalyst, "it-audit": store.RoleAuditor, "a=b": store.RoleAuditor}
	if len(m) != len(want) {
		t.Fatalf("got %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%q: %q, want %q", k, m[k], v)
		}
	}
	for _, bad := range []string{"", " , ", "admins", "=admin", "g=root", "g=Admin", "g=admin,g=auditor"} {
		if _, err := ParseRoleMap(bad); err == nil || !strings.Contains(err.Error(), "--oidc-role-map") {
			t.Errorf("ParseRoleMap(%q): %v, want an error naming the flag", bad, err)
		}
	}
}

func TestRoleMapRole(t *testing.T) {
	t.Parallel()
	m := RoleMap{"admins": store.RoleAdmin, "analysts": store.RoleAnalyst, "audit": store.RoleAuditor}
	for _, tc := range []struct {
		values []string
		want   store.Role
	}{
		{nil, ""},
		{[]string{"staff", "Admins"}, ""}, // case-sensitive
		{[]string{"audit"}, store.RoleAuditor},
		{[]string{"audit", "analysts"}, store.RoleAnalyst},
		{[]string{"analysts", "admins", "audit"}, store.RoleAdmin},
	} {
		if got := m.Role(tc.values); got != tc.want {
			t.Errorf("Role(%q) = %q, want %q", tc.values, got, tc.want)
		}
	}
}

func TestClaimValues(t *testing.T) {
	t.Parallel()
	claims := map[string]any{"groups": []any{"a", 3.0, "b", nil}, "hd": "example.com", "n": 1.0}
	if got := claimValues(claims, "groups"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("groups: %q", got)
	}
	if got := claimValues(claims, "hd"); !slices.Equal(got, []string{"example.com"}) {
		t.Errorf("hd: %q", got)
	}
	if got := claimValues(claims, "n"); got != nil {
		t.Errorf("number claim: %q", got)
	}
	if got := claimValues(claims, "missing"); got != nil {
		t.Errorf("missing claim: %q", got)
	}
}

func TestDomainAllowed(t *testing.T) {
	t.Parallel()
	domains := []string{"example.com"}
	for email, want := range map[string]bool{
		"ann@example.com": true, "ann@EXAMPLE.com": true, "ann@sub.example.com": false, "ann@example.com.evil": false,
		"example.com": false, "@example.com": false, "a@b@example.com": true, "": false,
	} {
		if got := DomainAllowed(email, domains); got != want {
			t.Errorf("DomainAllowed(%q) = %v, want %v", email, got, want)
		}
	}
	if !DomainAllowed("anyone@anywhere", nil) {
		t.Error("no domains configured refuses")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	ok := Config{Issuer: "https://idp.example/realms/it", ClientID: "vcguard", RedirectURL: "https://vcguard.example:8080/oidc/callback",
		RolesClaim: "groups", Roles: RoleMap{"g": store.RoleAdmin}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Config){
		"no issuer":           func(c *Config) { c.Issuer = "" },
		"issuer not a URL":    func(c *Config) { c.Issuer = "idp.example" },
		"no client ID":        func(c *Config) { c.ClientID = "" },
		"http redirect":       func(c *Config) { c.RedirectURL = "http://vcguard.example/oidc/callback" },
		"other redirect path": func(c *Config) { c.RedirectURL = "https://vcguard.example/callback" },
		"no roles claim":      func(c *Config) { c.RolesClaim = "" },
		"no role map":         func(c *Config) { c.Roles = nil },
	} {
		c := ok
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReadClientSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := ReadClientSecret(path); err != nil || s != "s3cret" {
		t.Fatalf("ReadClientSecret: %q, %v", s, err)
	}
	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadClientSecret(path); err == nil || !strings.Contains(err.Error(), "chmod 600") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("a world-readable secret file: %v", err)
		}
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadClientSecret(empty); err == nil {
		t.Error("an empty secret file was accepted")
	}
	if _, err := ReadClientSecret(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing secret file was accepted")
	}
}

// TestDiscoveryFailureNamesIssuer: an unreachable provider is an error
// that names it, and is not retried before retryDiscovery has passed.
func TestDiscoveryFailureNamesIssuer(t *testing.T) {
	t.Parallel()
	p := New(Config{Issuer: "http://127.0.0.1:1/realms/it", ClientID: "c"}, nil)
	err := p.Discover(t.Context())
	if err == nil || !strings.Contains(err.Error(), "http://127.0.0.1:1/realms/it") {
		t.Fatalf("Discover: %v", err)
	}
	if _, _, err := p.Begin(t.Context()); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("Begin after a failed discovery: %v", err)
	}
}
