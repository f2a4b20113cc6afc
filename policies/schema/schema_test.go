package schema_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/policies/schema"
)

// Every catalog entry validates against the published schema.
func TestCatalogMatchesSchema(t *testing.T) {
	t.Parallel()
	validateAll(t, "../catalog/*.yaml", 30, schema.ValidateApp)
}

// validateAll checks every file matching pattern (at least min of them).
func validateAll(t *testing.T, pattern string, min int, validate func(file string, data []byte) error) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) < min {
		t.Fatalf("%s: %v, %v; want at least %d files", pattern, files, err, min)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(f, data); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// The schema and the Go loader (which the agent uses without the schema)
// give the same verdict: each broken variant of a real entry is refused by
// both, each naming a line.
func TestSchemaAndLoaderAgree(t *testing.T) {
	t.Parallel()
	base, err := os.ReadFile("../catalog/zoom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(base)
	replace := func(old, new string) string {
		t.Helper()
		if !strings.Contains(doc, old) {
			t.Fatalf("zoom.yaml has no %q", old)
		}
		return strings.Replace(doc, old, new, 1)
	}
	tests := []struct {
		name, doc string
		ok        bool
	}{
		{"as is", doc, true},
		{"bad app id", replace("app_id: zoom", "app_id: Zoom_App"), false},
		{"no name", replace("name: Zoom Workplace", "name: ''"), false},
		{"bad category", replace("category: meeting", "category: chat"), false},
		{"unknown field", replace("category: meeting", "category: meeting\ncolour: blue"), false},
		{"unknown OS", replace("identify:\n", "identify:\n  plan9:\n    executables: [zoom]\n"), false},
		{"executable with directory", replace("executables: [zoom", "executables: [/opt/zoom"), false},
		{"bad team id", replace("team_ids: [BJ4HAAB9B3", "team_ids: [bj4haab9b3"), false},
		{"unknown package system", replace("      deb:", "      appimage:"), false},
		{"no facts", strings.Split(doc, "\nfacts:")[0] + "\n", false},
		{"bad e2ee value", replace("value: optional", "value: sometimes"), false},
		{"http source", replace("source: https://", "source: http://"), false},
		{"bad date", replace("checked: '2026-11-23'", "checked: '23.11.2026'"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkAgreement(t, "zoom.yaml", tt.doc, tt.ok) })
	}
}

// checkAgreement checks that the loader and the schema both accept doc
// (ok) or both refuse it with a FieldError that names a line.
func checkAgreement(t *testing.T, file, doc string, ok bool) {
	t.Helper()
	_, loadErr := policies.ParseApp(file, []byte(doc))
	schemaErr := schema.ValidateApp(file, []byte(doc))
	if ok {
		if loadErr != nil || schemaErr != nil {
			t.Fatalf("valid entry refused: loader %v; schema %v", loadErr, schemaErr)
		}
		return
	}
	if loadErr == nil || schemaErr == nil {
		t.Fatalf("broken entry accepted: loader %v; schema %v", loadErr, schemaErr)
	}
	var a, b *policies.FieldError
	if !errors.As(loadErr, &a) || !errors.As(schemaErr, &b) {
		t.Fatalf("not FieldErrors: %v; %v", loadErr, schemaErr)
	}
	if a.Line == 0 || b.Line == 0 {
		t.Errorf("an error without a line: loader %v; schema %v", loadErr, schemaErr)
	}
}

// The schema and the loader agree on multi-service hosts: embeds is
// required there and only there, and such a host has no facts, local
// setup or posture checks.
func TestSchemaAndLoaderAgreeOnHosts(t *testing.T) {
	t.Parallel()
	host := `app_id: somehost
name: Some Host
vendor: Someone
category: multi_service
identify:
  linux:
    executables: [somehost]
embeds:
  apps: [zoom, slack]
  source: https://example.org/services
  checked: '2026-12-06'
`
	zoom, err := os.ReadFile("../catalog/zoom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	embeds := "embeds:\n  apps: [slack]\n  source: https://example.org/services\n  checked: '2026-12-06'\n"
	tests := []struct {
		name, doc string
		ok        bool
	}{
		{"as is", host, true},
		{"with a note", strings.Replace(host, "  source:", "  note: Read from the host's service list.\n  source:", 1), true},
		{"no embeds", strings.Split(host, "embeds:")[0], false},
		{"no service", strings.Replace(host, "apps: [zoom, slack]", "apps: []", 1), false},
		{"a service twice", strings.Replace(host, "apps: [zoom, slack]", "apps: [zoom, zoom]", 1), false},
		{"bad service id", strings.Replace(host, "apps: [zoom, slack]", "apps: [Zoom]", 1), false},
		{"http source", strings.Replace(host, "source: https://", "source: http://", 1), false},
		{"bad date", strings.Replace(host, "checked: '2026-12-06'", "checked: '6.12.2026'", 1), false},
		{"unknown field in embeds", strings.Replace(host, "  source:", "  colour: blue\n  source:", 1), false},
		{"no identify", strings.Replace(host, "identify:\n  linux:\n    executables: [somehost]\n", "web_domains: [example.org]\n", 1), false},
		{"facts", host + "facts:\n  e2ee: {value: none, source: 'https://example.org/', checked: '2026-12-06'}\n", false},
		{"posture", host + "posture:\n  - {kind: autostart, os: linux, file: {path: '~/.config/autostart/somehost.desktop', format: ini, key: Hidden, bad: ['false']}, source: 'https://example.org/'}\n", false},
		{"embeds on a meeting tool", string(zoom) + embeds, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkAgreement(t, "somehost.yaml", tt.doc, tt.ok) })
	}
}
