package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestOIDCFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "oidc-secret")
	if err := os.WriteFile(secret, []byte("the-client-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--data", dir, "--oidc-issuer", "http://127.0.0.1:1/realms/it", "--oidc-client-id", "vcguard",
		"--oidc-client-secret-file", secret, "--oidc-redirect-url", "https://vcguard.example/oidc/callback",
		"--oidc-role-map", "/admins=admin, /audit=auditor", "--oidc-allowed-domains", "@Example.com, example.org"}
	c, err := parseFlags(base, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.OIDC.cfg; got.Issuer != "http://127.0.0.1:1/realms/it" || got.RolesClaim != "groups" || got.Roles["/audit"] != "auditor" ||
		strings.Join(got.AllowedDomains, ",") != "example.com,example.org" || got.ClientSecret != "" {
		t.Errorf("config: %+v", got)
	}
	// The provider is unreachable: the server starts all the same, and
	// discovery is retried at the next sign-in.
	p, err := c.OIDC.provider(t.Context(), slog.New(slog.DiscardHandler))
	if err != nil || p == nil {
		t.Fatalf("provider: %v", err)
	}
	if _, _, err := p.Begin(t.Context()); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1/realms/it") {
		t.Errorf("sign-in with the provider unreachable: %v", err)
	}

	// No --oidc-issuer: no provider, and the other flags alone are refused.
	if c, err := parseFlags([]string{"--data", dir}, io.Discard); err != nil {
		t.Fatal(err)
	} else if p, err := c.OIDC.provider(t.Context(), slog.New(slog.DiscardHandler)); p != nil || err != nil {
		t.Errorf("without --oidc-issuer: %v, %v", p, err)
	}
	for name, args := range map[string][]string{
		"client ID without issuer": {"--data", dir, "--oidc-client-id", "vcguard"},
		"no role map":              append(slicesWithout(base, "--oidc-role-map"), "--oidc-role-map", ""),
		"a role that is not one":   append(slicesWithout(base, "--oidc-role-map"), "--oidc-role-map", "g=root"),
		"no secret file":           append(slicesWithout(base, "--oidc-client-secret-file"), "--oidc-client-secret-file", ""),
		"plain-HTTP redirect":      append(slicesWithout(base, "--oidc-redirect-url"), "--oidc-redirect-url", "http://vcguard.example/oidc/callback"),
	} {
		if _, err := parseFlags(args, io.Discard); err == nil || !strings.Contains(err.Error(), "--oidc-") {
			t.Errorf("%s: %v, want an error naming the flag", name, err)
		}
	}

	if runtime.GOOS != "windows" {
		if err := os.Chmod(secret, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := c.OIDC.provider(t.Context(), slog.New(slog.DiscardHandler)); err == nil || strings.Contains(err.Error(), "the-client-secret") {
			t.Errorf("a world-readable secret file: %v", err)
		}
	}
}

// slicesWithout drops flag and its value from args.
func slicesWithout(args []string, flag string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == flag {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}
