package policies_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
)

const validPolicy = `name: Test policy
default: forbidden
apps:
  jitsi-meet:
    status: approved
  zoom:
    status: restricted
    note: Only with the company account.
  skype:
    status: forbidden
    alternative: jitsi-meet
`

func TestParsePolicyErrors(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	tests := []struct {
		name      string
		doc       string
		wantLine  int
		wantField string
		wantMsg   string
	}{
		{
			name:     "empty document",
			doc:      "",
			wantLine: 1, wantMsg: "document is empty",
		},
		{
			name:     "comments and white space only",
			doc:      "\n# a policy will go here\n   \n",
			wantLine: 1, wantMsg: "document is empty",
		},
		{
			name:     "document marker only",
			doc:      "---\n",
			wantLine: 1, wantMsg: "document is empty",
		},
		{
			name:     "scalar document",
			doc:      "just some text\n",
			wantLine: 1, wantMsg: "must be a mapping",
		},
		{
			name:     "multiple documents",
			doc:      validPolicy + "---\nname: Second\n",
			wantLine: 12, wantMsg: "more than one YAML document",
		},
		{
			name:     "multiple documents after a leading marker",
			doc:      "---\n" + validPolicy + "---\n" + validPolicy,
			wantLine: 13, wantMsg: "more than one YAML document",
		},
		{
			name:     "unknown top-level field",
			doc:      strings.Replace(validPolicy, "default: forbidden", "defaults: forbidden", 1),
			wantLine: 2, wantField: "defaults", wantMsg: "unknown field",
		},
		{
			name:     "unknown rule field",
			doc:      strings.Replace(validPolicy, "    note: Only", "    notes: Only", 1),
			wantLine: 8, wantField: "apps.zoom.notes", wantMsg: "unknown field",
		},
		{
			name:     "missing name",
			doc:      strings.Replace(validPolicy, "name: Test policy\n", "", 1),
			wantLine: 1, wantField: "name", wantMsg: "is required",
		},
		{
			name:     "blank name",
			doc:      strings.Replace(validPolicy, "name: Test policy", `name: " "`, 1),
			wantLine: 1, wantField: "name", wantMsg: "is required",
		},
		{
			name:     "bad default",
			doc:      strings.Replace(validPolicy, "default: forbidden", "default: allowed", 1),
			wantLine: 2, wantField: "default", wantMsg: `"allowed" is not one of approved, restricted, forbidden`,
		},
		{
			name:     "unknown app id",
			doc:      validPolicy + "  zoomx:\n    status: approved\n",
			wantLine: 12, wantField: "apps.zoomx", wantMsg: `"zoomx" is not an app id of the catalog`,
		},
		{
			name:     "unknown app id in flow style",
			doc:      validPolicy + "  teems: {status: approved}\n",
			wantLine: 12, wantField: "apps.teems", wantMsg: `"teems" is not an app id`,
		},
		{
			name:     "bad status",
			doc:      strings.Replace(validPolicy, "status: restricted", "status: tolerated", 1),
			wantLine: 7, wantField: "apps.zoom.status", wantMsg: `"tolerated" is not one of approved, restricted, forbidden`,
		},
		{
			name:     "missing status",
			doc:      validPolicy + "  webex:\n    note: no status\n",
			wantLine: 12, wantField: "apps.webex.status", wantMsg: `"" is not one of`,
		},
		{
			name:     "status of the wrong type",
			doc:      strings.Replace(validPolicy, "status: restricted", "status: [restricted]", 1),
			wantLine: 7, wantMsg: "cannot unmarshal",
		},
		{
			name:     "alternative not in the catalog",
			doc:      strings.Replace(validPolicy, "alternative: jitsi-meet", "alternative: jitsi", 1),
			wantLine: 11, wantField: "apps.skype.alternative", wantMsg: `"jitsi" is not an app id of the catalog`,
		},
		{
			name:     "alternative not named by the policy",
			doc:      strings.Replace(validPolicy, "alternative: jitsi-meet", "alternative: webex", 1),
			wantLine: 11, wantField: "apps.skype.alternative", wantMsg: `alternative "webex" is not approved or restricted`,
		},
		{
			name:     "forbidden alternative",
			doc:      validPolicy + "  signal:\n    status: forbidden\n    alternative: skype\n",
			wantLine: 14, wantField: "apps.signal.alternative", wantMsg: `alternative "skype" is not approved or restricted`,
		},
		{
			name:     "alternative is itself",
			doc:      strings.Replace(validPolicy, "alternative: jitsi-meet", "alternative: skype", 1),
			wantLine: 11, wantField: "apps.skype.alternative", wantMsg: `alternative "skype"`,
		},
		{
			name:     "duplicate app",
			doc:      validPolicy + "  zoom:\n    status: approved\n",
			wantLine: 12, wantMsg: `"zoom" already defined at line 6`,
		},
		{
			name: "json with an unknown app id",
			doc: `{
  "name": "JSON policy",
  "apps": {
    "zoom": {"status": "approved"},
    "hangouts": {"status": "forbidden"}
  }
}`,
			wantLine: 5, wantField: "apps.hangouts", wantMsg: `"hangouts" is not an app id`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := policies.ParsePolicy("policy.yaml", []byte(tt.doc), cat)
			if err == nil {
				t.Fatalf("ParsePolicy accepted %+v", p)
			}
			checkFieldError(t, err, "policy.yaml", tt.wantLine, tt.wantField, tt.wantMsg)
		})
	}
}

func TestParsePolicyValid(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	p, err := policies.ParsePolicy("policy.yaml", []byte(validPolicy), cat)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Test policy" || p.Default != policies.StatusForbidden || len(p.Apps) != 3 {
		t.Errorf("ParsePolicy = %+v", p)
	}
	if r := p.Apps["skype"]; r.Status != policies.StatusForbidden || r.Alternative != "jitsi-meet" {
		t.Errorf("skype rule = %+v", r)
	}
	if r := p.Apps["zoom"]; r.Status != policies.StatusRestricted || r.Note != "Only with the company account." {
		t.Errorf("zoom rule = %+v", r)
	}

	// The same policy as JSON, and a minimal one.
	j := `{"name": "Test policy", "default": "forbidden", "apps": {
	  "jitsi-meet": {"status": "approved"},
	  "skype": {"status": "forbidden", "alternative": "jitsi-meet"}}}`
	if _, err := policies.ParsePolicy("policy.json", []byte(j), cat); err != nil {
		t.Errorf("JSON policy: %v", err)
	}
	p, err = policies.ParsePolicy("min.yaml", []byte("name: Monitor only\n"), cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Apps) != 0 || p.Default != "" {
		t.Errorf("minimal policy = %+v", p)
	}
	// A restricted alternative is allowed.
	doc := "name: x\napps:\n  zoom: {status: restricted}\n  skype: {status: forbidden, alternative: zoom}\n"
	if _, err := policies.ParsePolicy("alt.yaml", []byte(doc), cat); err != nil {
		t.Errorf("restricted alternative refused: %v", err)
	}
}

// Every shipped example parses against the embedded catalog, and
// ExamplePolicy serves the same bytes as the file.
func TestExamplePoliciesParse(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	files, err := filepath.Glob(filepath.Join("examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no example policies in examples/")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := policies.ParsePolicy(f, data, cat)
			if err != nil {
				t.Fatalf("ParsePolicy: %v", err)
			}
			if p.Name == "" {
				t.Error("example has no name")
			}
			embedded, err := policies.ExamplePolicy(strings.TrimSuffix(filepath.Base(f), ".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if string(embedded) != string(data) {
				t.Error("ExamplePolicy differs from the file")
			}
		})
	}
	if _, err := policies.ExamplePolicy("no-such-example"); err == nil || !strings.Contains(err.Error(), "no-such-example") {
		t.Errorf("ExamplePolicy(no-such-example) error = %v", err)
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	withDefault, err := policies.ParsePolicy("p.yaml", []byte(validPolicy), cat)
	if err != nil {
		t.Fatal(err)
	}
	noDefault, err := policies.ParsePolicy("p.yaml", []byte(strings.Replace(validPolicy, "default: forbidden\n", "", 1)), cat)
	if err != nil {
		t.Fatal(err)
	}
	restrictedDefault, err := policies.ParsePolicy("p.yaml", []byte(strings.Replace(validPolicy, "default: forbidden", "default: restricted", 1)), cat)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		policy *policies.Policy
		app    string
		want   policies.Finding
	}{
		{"approved", withDefault, "jitsi-meet", policies.Finding{AppID: "jitsi-meet", Verdict: policies.VerdictApproved}},
		{"restricted with note", withDefault, "zoom",
			policies.Finding{AppID: "zoom", Verdict: policies.VerdictRestricted, Note: "Only with the company account."}},
		{"forbidden with alternative", withDefault, "skype",
			policies.Finding{AppID: "skype", Verdict: policies.VerdictForbidden, Alternative: "jitsi-meet"}},
		{"default forbidden", withDefault, "webex", policies.Finding{AppID: "webex", Verdict: policies.VerdictForbidden}},
		{"default restricted", restrictedDefault, "webex", policies.Finding{AppID: "webex", Verdict: policies.VerdictRestricted}},
		{"default applies to ids outside the catalog", withDefault, "not-in-catalog",
			policies.Finding{AppID: "not-in-catalog", Verdict: policies.VerdictForbidden}},
		{"no default", noDefault, "webex", policies.Finding{AppID: "webex", Verdict: policies.VerdictUnlisted}},
		{"listed app without default", noDefault, "skype",
			policies.Finding{AppID: "skype", Verdict: policies.VerdictForbidden, Alternative: "jitsi-meet"}},
		{"nil policy", nil, "zoom", policies.Finding{AppID: "zoom", Verdict: policies.VerdictUnlisted}},
		{"empty policy", &policies.Policy{Name: "empty"}, "zoom", policies.Finding{AppID: "zoom", Verdict: policies.VerdictUnlisted}},
	}
	for _, tt := range tests {
		if got := policies.Evaluate(tt.policy, policies.Detection{AppID: tt.app, Verified: true}); got != tt.want {
			t.Errorf("%s: Evaluate(%s) = %+v, want %+v", tt.name, tt.app, got, tt.want)
		}
		// A look-alike is unverified whatever the policy says of the
		// tool it imitates, approved or forbidden.
		got := policies.Evaluate(tt.policy, policies.Detection{AppID: tt.app})
		if want := (policies.Finding{AppID: tt.app, Verdict: policies.VerdictUnverified}); got != want {
			t.Errorf("%s: Evaluate(%s, not verified) = %+v, want %+v", tt.name, tt.app, got, want)
		}
	}
}

// The European default example judges the whole catalog as documented.
func TestEvaluateEUDefault(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	doc, err := policies.ExamplePolicy("eu-default")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policies.ParsePolicy("eu-default.yaml", doc, cat)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]policies.Verdict{
		"jitsi-meet":      policies.VerdictApproved,
		"webex":           policies.VerdictRestricted,
		"microsoft-teams": policies.VerdictRestricted,
		"zoom":            policies.VerdictRestricted,
		"gotomeeting":     policies.VerdictForbidden,
		"skype":           policies.VerdictForbidden,
		"signal":          policies.VerdictForbidden,
	}
	for _, a := range cat.Apps() {
		f := policies.Evaluate(p, policies.Detection{AppID: a.ID, Verified: true})
		w, ok := want[a.ID]
		if !ok {
			w = policies.VerdictUnlisted
		}
		if f.Verdict != w {
			t.Errorf("%s: verdict %s, want %s", a.ID, f.Verdict, w)
		}
		if f.Verdict == policies.VerdictForbidden && f.Alternative != "jitsi-meet" {
			t.Errorf("%s: forbidden without the jitsi-meet alternative (%q)", a.ID, f.Alternative)
		}
	}
}

func TestParsePolicyErrorIsFieldError(t *testing.T) {
	t.Parallel()
	_, err := policies.ParsePolicy("x.yaml", []byte("name: [\n"), embeddedCatalog(t))
	var fe *policies.FieldError
	if !errors.As(err, &fe) || fe.File != "x.yaml" {
		t.Fatalf("error %v is not a FieldError of x.yaml", err)
	}
}
