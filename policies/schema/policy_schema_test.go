package schema_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/policies/schema"
)

// Every example policy validates against the published schema.
func TestExamplePoliciesMatchSchema(t *testing.T) {
	t.Parallel()
	validateAll(t, "../examples/*.yaml", 3, schema.ValidatePolicy)
}

// The schema and the Go parser (which the agent uses without the schema)
// agree on each variant of the European default that the schema can judge
// (it cannot know catalog ids or what the policy decides of an
// alternative), each naming a line.
func TestPolicySchemaAndParserAgree(t *testing.T) {
	t.Parallel()
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile("../examples/eu-default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(base)
	replace := func(old, new string) string {
		t.Helper()
		if !strings.Contains(doc, old) {
			t.Fatalf("eu-default.yaml has no %q", old)
		}
		return strings.Replace(doc, old, new, 1)
	}
	tests := []struct {
		name, doc string
		ok        bool
	}{
		{"as is", doc, true},
		{"JSON-style minimal", `{"name": "m"}`, true},
		{"with a group", doc + "groups:\n  radiology-2:\n    default: forbidden\n    actions: {forbidden: block}\n", true},
		{"no name", replace("name: European default\n", ""), false},
		{"bad default", doc + "default: allowed\n", false},
		{"unknown field", replace("name: European default", "name: European default\ncolour: blue"), false},
		{"bad status", replace("status: approved", "status: fine"), false},
		{"bad min_version", replace(`min_version: "24335.206"`, `min_version: "24335.x"`), false},
		{"min_version on a forbidden tool", replace("    status: forbidden\n    alternative: jitsi-meet\n    info_url", "    status: forbidden\n    min_version: '1'\n    alternative: jitsi-meet\n    info_url"), false},
		{"http info_url", replace("info_url: https://", "info_url: http://"), false},
		{"bad e2ee condition", replace("e2ee: [default]", "e2ee: [always]"), false},
		{"empty condition", replace("e2ee: [default]", "e2ee: []"), false},
		{"unknown condition", replace("e2ee: [default]", "e2e: [default]"), false},
		{"rule without status", replace("    status: approved\n    note: End", "    note: End"), false},
		{"bad action", replace("forbidden: warn", "forbidden: kill"), false},
		{"block for restricted", replace("restricted: warn", "restricted: block"), false},
		{"warn for approved", replace("  unlisted: monitor\n", "  unlisted: monitor\n  approved: warn\n"), false},
		{"bad block_grace", replace("block_grace: 2m", "block_grace: 2 minutes"), false},
		{"bad group name", doc + "groups:\n  Radiology:\n    default: forbidden\n", false},
		{"block for unknown media apps", replace("unknown_apps: monitor", "unknown_apps: block"), false},
		{"negative idle minutes", replace("idle_minutes: 10", "idle_minutes: -1"), false},
		{"note per language", replace("note: Use only with the organisation's own server.", "note: {en: Own server only., de: Nur eigener Server.}"), true},
		{"note in one language", replace("note: Use only with the organisation's own server.", "note: {fr: Serveur interne seulement.}"), true},
		{"note in an unknown language", replace("note: Use only with the organisation's own server.", "note: {en: Own server only., es: Solo servidor propio.}"), false},
		{"note of no language", replace("note: Use only with the organisation's own server.", "note: {}"), false},
		{"note with an empty language", replace("note: Use only with the organisation's own server.", "note: {en: Own server only., nl: ''}"), false},
		{"note as a list", replace("note: Use only with the organisation's own server.", "note: [a, b]"), false},
		{"note too long", replace("note: Use only with the organisation's own server.", "note: "+strings.Repeat("x", policies.MaxNoteBytes+1)), false},
		{"note too long in one language", replace("note: Use only with the organisation's own server.", "note: {de: "+strings.Repeat("x", policies.MaxNoteBytes+1)+"}"), false},
		{"allowed servers", replace("  jitsi-meet:\n    status: approved\n", "  jitsi-meet:\n    status: approved\n    allowed_servers: [meet.example.org, '*.example.org']\n"), true},
		{"allowed server with a scheme", replace("  jitsi-meet:\n    status: approved\n", "  jitsi-meet:\n    status: approved\n    allowed_servers: [https://meet.example.org]\n"), false},
		{"allowed servers empty", replace("  jitsi-meet:\n    status: approved\n", "  jitsi-meet:\n    status: approved\n    allowed_servers: []\n"), false},
		{"allowed accounts by tenant", replace("allowed_accounts: [work]", "allowed_accounts: [work, 72f988bf-86f1-41af-91ab-2d7cd011db47, example.org]"), true},
		{"allowed account not a domain", replace("allowed_accounts: [work]", "allowed_accounts: ['someone@example.org']"), false},
		{"allowed servers on a forbidden tool", replace("    status: forbidden\n    alternative: jitsi-meet\n    info_url", "    status: forbidden\n    allowed_servers: [x.example.org]\n    alternative: jitsi-meet\n    info_url"), false},
		{"bad wrong_server action", replace("wrong_server: warn", "wrong_server: close"), false},
		{"block for personal accounts", replace("personal_account: warn", "personal_account: block"), true},
		{"browsers enforce", replace("media_origins: monitor\n  allowed_origins: []", "media_origins: enforce\n  allowed_origins: [https://bbb.example.org, 'https://*.example.org:8443']\n  screen_capture: block"), true},
		{"browsers bad mode", replace("media_origins: monitor", "media_origins: block"), false},
		{"browsers http origin", replace("allowed_origins: []", "allowed_origins: [http://bbb.example.org]"), false},
		{"browsers origin with a path", replace("allowed_origins: []", "allowed_origins: [https://bbb.example.org/b/room]"), false},
		{"browsers screen block without enforce", replace("allowed_origins: []", "allowed_origins: []\n  screen_capture: block"), false},
		{"browsers block a site", replace("unapproved_site: warn", "unapproved_site: block"), false},
		{"note with a control character", replace("note: Use only with the organisation's own server.", `note: "bell\a"`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, parseErr := policies.ParsePolicy("eu-default.yaml", []byte(tt.doc), cat)
			schemaErr := schema.ValidatePolicy("eu-default.yaml", []byte(tt.doc))
			if tt.ok {
				if parseErr != nil || schemaErr != nil {
					t.Fatalf("valid policy refused: parser %v; schema %v", parseErr, schemaErr)
				}
				return
			}
			if parseErr == nil || schemaErr == nil {
				t.Fatalf("broken policy accepted: parser %v; schema %v", parseErr, schemaErr)
			}
			var a, b *policies.FieldError
			if !errors.As(parseErr, &a) || !errors.As(schemaErr, &b) {
				t.Fatalf("not FieldErrors: %v; %v", parseErr, schemaErr)
			}
			if a.Line == 0 || b.Line == 0 {
				t.Errorf("an error without a line: parser %v; schema %v", parseErr, schemaErr)
			}
		})
	}
}
