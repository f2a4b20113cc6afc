package policies_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	if r := p.Apps["zoom"]; r.Status != policies.StatusRestricted || r.Note != policies.PlainNote("Only with the company account.") {
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
		{"approved", withDefault, "jitsi-meet", policies.Finding{AppID: "jitsi-meet", Verdict: policies.VerdictApproved,
			Action: policies.ActionMonitor, From: "apps.jitsi-meet"}},
		{"restricted with note", withDefault, "zoom",
			policies.Finding{AppID: "zoom", Verdict: policies.VerdictRestricted, Note: policies.PlainNote("Only with the company account."),
				Action: policies.ActionWarn, From: "apps.zoom"}},
		{"forbidden with alternative", withDefault, "skype",
			policies.Finding{AppID: "skype", Verdict: policies.VerdictForbidden, Alternative: "jitsi-meet",
				Action: policies.ActionWarn, From: "apps.skype"}},
		{"default forbidden", withDefault, "webex", policies.Finding{AppID: "webex", Verdict: policies.VerdictForbidden,
			Action: policies.ActionWarn, From: "default"}},
		{"default restricted", restrictedDefault, "webex", policies.Finding{AppID: "webex", Verdict: policies.VerdictRestricted,
			Action: policies.ActionWarn, From: "default"}},
		{"default applies to ids outside the catalog", withDefault, "not-in-catalog",
			policies.Finding{AppID: "not-in-catalog", Verdict: policies.VerdictForbidden, Action: policies.ActionWarn, From: "default"}},
		{"no default", noDefault, "webex", policies.Finding{AppID: "webex", Verdict: policies.VerdictUnlisted, Action: policies.ActionMonitor}},
		{"listed app without default", noDefault, "skype",
			policies.Finding{AppID: "skype", Verdict: policies.VerdictForbidden, Alternative: "jitsi-meet",
				Action: policies.ActionWarn, From: "apps.skype"}},
		{"nil policy", nil, "zoom", policies.Finding{AppID: "zoom", Verdict: policies.VerdictUnlisted, Action: policies.ActionMonitor}},
		{"empty policy", &policies.Policy{Name: "empty"}, "zoom", policies.Finding{AppID: "zoom", Verdict: policies.VerdictUnlisted,
			Action: policies.ActionMonitor}},
	}
	for _, tt := range tests {
		if got := policies.Evaluate(tt.policy, policies.Detection{AppID: tt.app, Verified: true}); got != tt.want {
			t.Errorf("%s: Evaluate(%s) = %+v, want %+v", tt.name, tt.app, got, tt.want)
		}
		// A look-alike is unverified whatever the policy says of the
		// tool it imitates, approved or forbidden.
		got := policies.Evaluate(tt.policy, policies.Detection{AppID: tt.app})
		if want := (policies.Finding{AppID: tt.app, Verdict: policies.VerdictUnverified, Action: policies.ActionWarn}); got != want {
			t.Errorf("%s: Evaluate(%s, not verified) = %+v, want %+v", tt.name, tt.app, got, want)
		}
	}
}

// The examples judge the whole catalog as exampleVerdicts says
// (TestExamplePoliciesJudgeWholeCatalog in examples_verdicts_test.go).

func TestParsePolicyErrorIsFieldError(t *testing.T) {
	t.Parallel()
	_, err := policies.ParsePolicy("x.yaml", []byte("name: [\n"), embeddedCatalog(t))
	var fe *policies.FieldError
	if !errors.As(err, &fe) || fe.File != "x.yaml" {
		t.Fatalf("error %v is not a FieldError of x.yaml", err)
	}
}

// fullPolicy uses every field of the policy model.
const fullPolicy = `name: Full policy
default: forbidden
apps:
  jitsi-meet:
    status: approved
  zoom:
    status: restricted
    min_version: "6.0.2"
    info_url: https://intranet.example.eu/zoom
  skype:
    status: forbidden
    alternative: jitsi-meet
rules:
  - when:
      e2ee: [default]
      data_location: [eu, self_hosted]
    status: approved
  - when: {category: browser}
    status: restricted
    alternative: jitsi-meet
actions:
  forbidden: block
  restricted: warn
  block_grace: 2m
groups:
  radiology:
    default: restricted
    apps:
      zoom:
        status: forbidden
        alternative: jitsi-meet
    rules:
      - when: {self_hostable: true}
        status: approved
    actions:
      forbidden: warn
media:
  forbidden_apps: block
  unknown_apps: monitor
  idle_minutes: 10
`

func TestParsePolicyFullErrors(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	if _, err := policies.ParsePolicy("policy.yaml", []byte(fullPolicy), cat); err != nil {
		t.Fatalf("fullPolicy refused: %v", err)
	}
	replace := func(old, new string) string {
		t.Helper()
		if strings.Count(fullPolicy, old) != 1 {
			t.Fatalf("fullPolicy has %d of %q", strings.Count(fullPolicy, old), old)
		}
		return strings.Replace(fullPolicy, old, new, 1)
	}
	tests := []struct {
		name      string
		doc       string
		wantLine  int
		wantField string
		wantMsg   string
	}{
		{"min_version not numeric", replace(`"6.0.2"`, `"6.x"`),
			8, "apps.zoom.min_version", `"6.x" is not a version of dotted numbers`},
		{"min_version with suffix", replace(`"6.0.2"`, `"6.0.2-beta"`),
			8, "apps.zoom.min_version", `"6.0.2-beta" is not a version`},
		{"min_version on a forbidden tool", replace("    status: forbidden\n    alternative: jitsi-meet\nrules", "    status: forbidden\n    min_version: '1.0'\nrules"),
			12, "apps.skype.min_version", "has no effect on a forbidden tool"},
		{"info_url not https", replace("https://intranet.example.eu/zoom", "http://intranet.example.eu/zoom"),
			9, "apps.zoom.info_url", `"http://intranet.example.eu/zoom" is not an https URL`},
		{"info_url without host", replace("https://intranet.example.eu/zoom", "https:///zoom"),
			9, "apps.zoom.info_url", "is not an https URL"},
		{"bad e2ee value", replace("e2ee: [default]", "e2ee: [default, always]"),
			15, "rules.0.when.e2ee.1", `"always" is not one of default, optional, none`},
		{"bad data location", replace("data_location: [eu, self_hosted]", "data_location: [eu, mars]"),
			16, "rules.0.when.data_location.1", `"mars" is not one of eu, eu_option`},
		{"empty condition list", replace("data_location: [eu, self_hosted]", "data_location: []"),
			16, "rules.0.when.data_location", "lists no value"},
		{"bad open source value", replace("e2ee: [default]", "open_source: [partly]"),
			15, "rules.0.when.open_source.0", `"partly" is not one of full, client, none`},
		{"bad category", replace("category: browser", "category: chat"),
			18, "rules.1.when.category", `"chat" is not one of meeting, browser`},
		{"self_hostable not a boolean", replace("{self_hostable: true}", "{self_hostable: maybe}"),
			33, "", "cannot unmarshal"},
		{"rule without status", replace("    status: restricted\n    alternative", "    alternative"),
			18, "rules.1.status", `"" is not one of approved, restricted, forbidden`},
		{"rule with a bad status", replace("    status: restricted\n    alternative", "    status: allowed\n    alternative"),
			19, "rules.1.status", `"allowed" is not one of`},
		{"unknown condition", replace("e2ee: [default]", "e2e: [default]"),
			15, "rules.when.e2e", "unknown field"},
		{"rule after a catch-all", replace("  - when: {category: browser}", "  - status: forbidden\n  - when: {category: browser}"),
			19, "rules.2", "is never reached: rule 1 before it has no conditions"},
		{"rule alternative not in the catalog", replace("    alternative: jitsi-meet\nactions", "    alternative: jitsy\nactions"),
			20, "rules.1.alternative", `"jitsy" is not an app id of the catalog`},
		{"rule alternative forbidden", replace("    alternative: jitsi-meet\nactions", "    alternative: skype\nactions"),
			20, "rules.1.alternative", `alternative "skype" is not approved or restricted by this policy`},
		{"rule info_url not https", replace("    alternative: jitsi-meet\nactions", "    info_url: ftp://x.eu/\nactions"),
			20, "rules.1.info_url", "is not an https URL"},
		{"unknown action", replace("forbidden: block", "forbidden: kill"),
			22, "actions.forbidden", `"kill" is not one of monitor, warn, block`},
		{"block for restricted", replace("restricted: warn", "restricted: block"),
			23, "actions.restricted", "block is only allowed for forbidden, unverified and outdated tools"},
		{"block for unlisted", replace("  restricted: warn\n", "  restricted: warn\n  unlisted: block\n"),
			24, "actions.unlisted", "block is only allowed for"},
		{"block for approved", replace("  restricted: warn\n", "  restricted: warn\n  approved: block\n"),
			24, "actions.approved", "block is only allowed for"},
		{"warn for approved", replace("  restricted: warn\n", "  restricted: warn\n  approved: warn\n"),
			24, "actions.approved", "approved tools are only monitored"},
		{"block_grace not a duration", replace("block_grace: 2m", "block_grace: 2 minutes"),
			24, "actions.block_grace", `"2 minutes" is not a duration between 1s and 24h0m0s`},
		{"block_grace zero", replace("block_grace: 2m", "block_grace: 0s"),
			24, "actions.block_grace", "is not a duration"},
		{"block_grace too long", replace("block_grace: 2m", "block_grace: 48h"),
			24, "actions.block_grace", "is not a duration"},
		{"unknown action key", replace("block_grace: 2m", "grace: 2m"),
			24, "actions.grace", "unknown field"},
		{"bad group name", replace("  radiology:", "  Radiology:"),
			26, "groups.Radiology", `"Radiology" is not a valid group name`},
		{"group name too long", replace("  radiology:", "  "+strings.Repeat("r", 42)+":"),
			26, "groups." + strings.Repeat("r", 42), "is not a valid group name"},
		{"bad group default", replace("default: restricted", "default: allowed"),
			27, "groups.radiology.default", `"allowed" is not one of approved, restricted, forbidden`},
		{"group app not in the catalog", replace("      zoom:\n", "      zoomx:\n"),
			29, "groups.radiology.apps.zoomx", `"zoomx" is not an app id of the catalog`},
		{"group app with a bad status", replace("        status: forbidden\n", "        status: banned\n"),
			30, "groups.radiology.apps.zoom.status", `"banned" is not one of`},
		{"group alternative forbidden in the group", replace("        alternative: jitsi-meet\n", "        alternative: skype\n"),
			31, "groups.radiology.apps.zoom.alternative", `alternative "skype" is not approved or restricted in group "radiology"`},
		{"base alternative forbidden in a group", replace("      zoom:\n", "      jitsi-meet: {status: forbidden}\n      zoom:\n"),
			12, "apps.skype.alternative", `alternative "jitsi-meet" is not approved or restricted in group "radiology"`},
		{"group rule with a bad status", replace("        status: approved\n", "        status: fine\n"),
			34, "groups.radiology.rules.0.status", `"fine" is not one of`},
		{"group block for restricted", replace("      forbidden: warn", "      restricted: block"),
			36, "groups.radiology.actions.restricted", "block is only allowed for"},
		{"media unknown action", replace("forbidden_apps: block", "forbidden_apps: kill"),
			38, "media.forbidden_apps", `"kill" is not one of monitor, warn, block`},
		{"media block for unknown apps", replace("unknown_apps: monitor", "unknown_apps: block"),
			39, "media.unknown_apps", "block is not allowed for apps outside the catalog"},
		{"media idle minutes negative", replace("idle_minutes: 10", "idle_minutes: -1"),
			40, "media.idle_minutes", "-1 is not between 0 (off) and 1440 minutes"},
		{"media idle minutes too many", replace("idle_minutes: 10", "idle_minutes: 100000"),
			40, "media.idle_minutes", "is not between"},
		{"media block for a screen share", replace("idle_minutes: 10", "idle_minutes: 10\n  screen_share: block"),
			41, "media.screen_share", "block is not allowed here (sharing the screen is the employee's own choice)"},
		{"media block for an output recording", replace("idle_minutes: 10", "idle_minutes: 10\n  output_recording: block"),
			41, "media.output_recording", "block is not allowed here"},
		{"media left running minutes negative", replace("idle_minutes: 10", "idle_minutes: 10\n  left_running_minutes: -5"),
			41, "media.left_running_minutes", "-5 is not between 0 (off) and 1440 minutes"},
		{"media idle minutes not a number", replace("idle_minutes: 10", "idle_minutes: ten"),
			40, "", "cannot unmarshal"},
		{"media unknown field", replace("idle_minutes: 10", "idle: 10"),
			40, "media.idle", "unknown field"},
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

// fullPolicy judged for devices outside any group and in radiology.
func TestEvaluateFull(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	p, err := policies.ParsePolicy("policy.yaml", []byte(fullPolicy), cat)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		d    policies.Detection
		want policies.Finding
	}{
		{"named app", policies.Detection{AppID: "jitsi-meet", Verified: true},
			policies.Finding{Verdict: policies.VerdictApproved, Action: policies.ActionMonitor, From: "apps.jitsi-meet"}},
		{"forbidden app is blocked", policies.Detection{AppID: "skype", Verified: true},
			policies.Finding{Verdict: policies.VerdictForbidden, Alternative: "jitsi-meet", Action: policies.ActionBlock,
				BlockGrace: 2 * time.Minute, From: "apps.skype"}},
		{"rule: e2ee and EU", policies.Detection{AppID: "wire", Verified: true},
			policies.Finding{Verdict: policies.VerdictApproved, Action: policies.ActionMonitor, From: "rules.0"}},
		{"rule: self-hosted e2ee", policies.Detection{AppID: "element", Verified: true},
			policies.Finding{Verdict: policies.VerdictApproved, Action: policies.ActionMonitor, From: "rules.0"}},
		{"rule: e2ee outside the EU falls through to the default", policies.Detection{AppID: "signal", Verified: true},
			policies.Finding{Verdict: policies.VerdictForbidden, Action: policies.ActionBlock, BlockGrace: 2 * time.Minute, From: "default"}},
		{"rule: browser", policies.Detection{AppID: "firefox", Verified: true},
			policies.Finding{Verdict: policies.VerdictRestricted, Alternative: "jitsi-meet", Action: policies.ActionWarn, From: "rules.1"}},
		{"default outside the catalog", policies.Detection{AppID: "not-in-catalog", Verified: true},
			policies.Finding{Verdict: policies.VerdictForbidden, Action: policies.ActionBlock, BlockGrace: 2 * time.Minute, From: "default"}},
		{"look-alike is blocked", policies.Detection{AppID: "jitsi-meet"},
			policies.Finding{Verdict: policies.VerdictUnverified, Action: policies.ActionWarn}},
		{"current version", policies.Detection{AppID: "zoom", Verified: true, Version: "6.0.2"},
			policies.Finding{Verdict: policies.VerdictRestricted, MinVersion: "6.0.2", InfoURL: "https://intranet.example.eu/zoom",
				Action: policies.ActionWarn, From: "apps.zoom"}},
		{"newer version with a build suffix", policies.Detection{AppID: "zoom", Verified: true, Version: "6.10.0 (43012)"},
			policies.Finding{Verdict: policies.VerdictRestricted, MinVersion: "6.0.2", InfoURL: "https://intranet.example.eu/zoom",
				Action: policies.ActionWarn, From: "apps.zoom"}},
		{"older version", policies.Detection{AppID: "zoom", Verified: true, Version: "6.0.1"},
			policies.Finding{Verdict: policies.VerdictOutdated, MinVersion: "6.0.2", InfoURL: "https://intranet.example.eu/zoom",
				Action: policies.ActionWarn, From: "apps.zoom"}},
		{"older version, shorter", policies.Detection{AppID: "zoom", Verified: true, Version: "6"},
			policies.Finding{Verdict: policies.VerdictOutdated, MinVersion: "6.0.2", InfoURL: "https://intranet.example.eu/zoom",
				Action: policies.ActionWarn, From: "apps.zoom"}},
		{"unknown version", policies.Detection{AppID: "zoom", Verified: true},
			policies.Finding{Verdict: policies.VerdictRestricted, MinVersion: "6.0.2", VersionUnknown: true,
				InfoURL: "https://intranet.example.eu/zoom", Action: policies.ActionWarn, From: "apps.zoom"}},
		{"unreadable version", policies.Detection{AppID: "zoom", Verified: true, Version: "beta"},
			policies.Finding{Verdict: policies.VerdictRestricted, MinVersion: "6.0.2", VersionUnknown: true,
				InfoURL: "https://intranet.example.eu/zoom", Action: policies.ActionWarn, From: "apps.zoom"}},
		{"group app rule wins", policies.Detection{AppID: "zoom", Verified: true, Version: "5.0", Group: "radiology"},
			policies.Finding{Verdict: policies.VerdictForbidden, Alternative: "jitsi-meet", Action: policies.ActionWarn,
				From: "groups.radiology.apps.zoom"}},
		{"base app rule in a group", policies.Detection{AppID: "skype", Verified: true, Group: "radiology"},
			policies.Finding{Verdict: policies.VerdictForbidden, Alternative: "jitsi-meet", Action: policies.ActionWarn, From: "apps.skype"}},
		{"group rule before base rules", policies.Detection{AppID: "mumble", Verified: true, Group: "radiology"},
			policies.Finding{Verdict: policies.VerdictApproved, Action: policies.ActionMonitor, From: "groups.radiology.rules.0"}},
		{"base rule in a group", policies.Detection{AppID: "wire", Verified: true, Group: "radiology"},
			policies.Finding{Verdict: policies.VerdictApproved, Action: policies.ActionMonitor, From: "groups.radiology.rules.0"}},
		{"group default", policies.Detection{AppID: "signal", Verified: true, Group: "radiology"},
			policies.Finding{Verdict: policies.VerdictRestricted, Action: policies.ActionWarn, From: "groups.radiology.default"}},
		{"group default outside the catalog", policies.Detection{AppID: "not-in-catalog", Verified: true, Group: "radiology"},
			policies.Finding{Verdict: policies.VerdictRestricted, Action: policies.ActionWarn, From: "groups.radiology.default"}},
		{"unknown group is the base policy", policies.Detection{AppID: "zoom", Verified: true, Version: "7", Group: "sales"},
			policies.Finding{Verdict: policies.VerdictRestricted, MinVersion: "6.0.2", InfoURL: "https://intranet.example.eu/zoom",
				Action: policies.ActionWarn, From: "apps.zoom"}},
	}
	for _, tt := range tests {
		tt.want.AppID = tt.d.AppID
		if got := policies.Evaluate(p, tt.d); got != tt.want {
			t.Errorf("%s: Evaluate(%+v) =\n%+v, want\n%+v", tt.name, tt.d, got, tt.want)
		}
	}
}

// Version comparison: numeric segment by segment, missing segments are 0,
// a trailing non-numeric suffix is ignored.
func TestEvaluateMinVersion(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	tests := []struct {
		min, version string
		want         policies.Verdict
		unknown      bool
	}{
		{"6.0.2", "6.0.2", policies.VerdictApproved, false},
		{"6.0.2", "6.0.10", policies.VerdictApproved, false},
		{"6.0.2", "6.0.1", policies.VerdictOutdated, false},
		{"6.0.2", "5.99.99", policies.VerdictOutdated, false},
		{"6.0.2", "10.0", policies.VerdictApproved, false},
		{"6.0", "6", policies.VerdictApproved, false},
		{"6.0.0", "6.0.0.0", policies.VerdictApproved, false},
		{"6.0.1", "6.0.0.9", policies.VerdictOutdated, false},
		{"6.0.2", "6.0.2-beta", policies.VerdictApproved, false},
		{"6.0.2", "6.0.1rc3", policies.VerdictOutdated, false},
		{"6.0.2", "v6.1", policies.VerdictApproved, false},
		{"6.0.2", "6.0.3 (12345)", policies.VerdictApproved, false},
		{"6.0.2", "006.000.002", policies.VerdictApproved, false},
		{"1.2", "99999999999999999999999.0", policies.VerdictApproved, false},
		{"6.0.2", "", policies.VerdictApproved, true},
		{"6.0.2", "unknown", policies.VerdictApproved, true},
		{"6.0.2", ".6", policies.VerdictApproved, true},
	}
	for _, tt := range tests {
		doc := "name: v\napps:\n  zoom: {status: approved, min_version: '" + tt.min + "'}\n"
		p, err := policies.ParsePolicy("v.yaml", []byte(doc), cat)
		if err != nil {
			t.Fatal(err)
		}
		got := policies.Evaluate(p, policies.Detection{AppID: "zoom", Verified: true, Version: tt.version})
		if got.Verdict != tt.want || got.VersionUnknown != tt.unknown || got.MinVersion != tt.min {
			t.Errorf("min %s, version %q: %+v, want %s (unknown %v)", tt.min, tt.version, got, tt.want, tt.unknown)
		}
	}
}

// Actions: built-in defaults, the policy's, a group's; a policy built by
// hand never blocks where a parsed one may not.
func TestEvaluateActions(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	p, err := policies.ParsePolicy("p.yaml", []byte("name: a\n"), cat)
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[policies.Verdict]policies.Action{
		policies.VerdictForbidden:  policies.DefaultForbiddenAction,
		policies.VerdictUnverified: policies.DefaultUnverifiedAction,
		policies.VerdictRestricted: policies.DefaultRestrictedAction,
		policies.VerdictUnlisted:   policies.DefaultUnlistedAction,
		policies.VerdictApproved:   policies.DefaultApprovedAction,
	}
	doc := "name: a\napps:\n  zoom: {status: forbidden}\n  webex: {status: restricted}\n  jitsi-meet: {status: approved}\n"
	for _, pol := range []*policies.Policy{p, nil, mustParse(t, cat, doc)} {
		for _, d := range []policies.Detection{{AppID: "zoom", Verified: true}, {AppID: "webex", Verified: true},
			{AppID: "jitsi-meet", Verified: true}, {AppID: "slack", Verified: true}, {AppID: "zoom"}} {
			got := policies.Evaluate(pol, d)
			if want, ok := defaults[got.Verdict]; !ok || got.Action != want || got.BlockGrace != 0 {
				t.Errorf("%+v: %+v, want action %s", d, got, want)
			}
		}
	}
	grace := mustParse(t, cat, "name: a\ndefault: forbidden\nactions: {forbidden: block, unverified: block}\n"+
		"groups:\n  lab: {actions: {forbidden: monitor, block_grace: 5s}}\n")
	if got := policies.Evaluate(grace, policies.Detection{AppID: "zoom", Verified: true}); got.Action != policies.ActionBlock || got.BlockGrace != policies.DefaultBlockGrace {
		t.Errorf("default grace: %+v", got)
	}
	if got := policies.Evaluate(grace, policies.Detection{AppID: "zoom", Verified: true, Group: "lab"}); got.Action != policies.ActionMonitor || got.BlockGrace != 0 {
		t.Errorf("group action: %+v", got)
	}
	if got := policies.Evaluate(grace, policies.Detection{AppID: "zoom", Group: "lab"}); got.Action != policies.ActionBlock || got.BlockGrace != 5*time.Second {
		t.Errorf("group grace: %+v", got)
	}
	byHand := &policies.Policy{Name: "h", Default: policies.StatusRestricted, Actions: policies.Actions{Restricted: policies.ActionBlock, Unlisted: "explode"}}
	if got := policies.Evaluate(byHand, policies.Detection{AppID: "zoom", Verified: true}); got.Action != policies.ActionWarn {
		t.Errorf("hand-built block for restricted: %+v", got)
	}
	// A hand-built policy has no catalog: its rules are not applied.
	byHand.Rules = []policies.Rule{{Status: policies.StatusForbidden}}
	if got := policies.Evaluate(byHand, policies.Detection{AppID: "zoom", Verified: true}); got.Verdict != policies.VerdictRestricted {
		t.Errorf("hand-built policy applied rules: %+v", got)
	}
}

func mustParse(t *testing.T, cat *policies.Catalog, doc string) *policies.Policy {
	t.Helper()
	p, err := policies.ParsePolicy("p.yaml", []byte(doc), cat)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Each shipped example judges a few tools as its comments say.
func TestExamplePolicyVerdicts(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	type want struct {
		verdict policies.Verdict
		action  policies.Action
	}
	tests := []struct {
		example string
		d       policies.Detection
		want    want
	}{
		{"eu-default", policies.Detection{AppID: "jitsi-meet", Verified: true}, want{policies.VerdictApproved, policies.ActionMonitor}},
		{"eu-default", policies.Detection{AppID: "wire", Verified: true}, want{policies.VerdictRestricted, policies.ActionWarn}}, // Swiss, but its transfers rely on SCCs
		{"eu-default", policies.Detection{AppID: "zoom", Verified: true, Version: "6.1.0"}, want{policies.VerdictRestricted, policies.ActionWarn}},
		{"eu-default", policies.Detection{AppID: "microsoft-teams", Verified: true, Version: "25007.214.3386.3283"}, want{policies.VerdictRestricted, policies.ActionWarn}},
		{"eu-default", policies.Detection{AppID: "microsoft-teams", Verified: true, Version: "24243.1309.3132.617"}, want{policies.VerdictOutdated, policies.ActionWarn}},
		{"eu-default", policies.Detection{AppID: "skype", Verified: true}, want{policies.VerdictForbidden, policies.ActionWarn}},
		{"eu-default", policies.Detection{AppID: "whatsapp", Verified: true}, want{policies.VerdictForbidden, policies.ActionWarn}},
		{"eu-default", policies.Detection{AppID: "chrome", Verified: true}, want{policies.VerdictApproved, policies.ActionMonitor}},
		{"eu-default", policies.Detection{AppID: "zoom"}, want{policies.VerdictUnverified, policies.ActionWarn}},
		{"self-hosted-only", policies.Detection{AppID: "jitsi-meet", Verified: true}, want{policies.VerdictApproved, policies.ActionMonitor}},
		{"self-hosted-only", policies.Detection{AppID: "nextcloud-talk", Verified: true}, want{policies.VerdictApproved, policies.ActionMonitor}},
		{"self-hosted-only", policies.Detection{AppID: "firefox", Verified: true}, want{policies.VerdictRestricted, policies.ActionMonitor}},
		{"self-hosted-only", policies.Detection{AppID: "zoom", Verified: true}, want{policies.VerdictForbidden, policies.ActionBlock}},
		{"self-hosted-only", policies.Detection{AppID: "wire", Verified: true}, want{policies.VerdictForbidden, policies.ActionBlock}},
		{"self-hosted-only", policies.Detection{AppID: "jami", Verified: true}, want{policies.VerdictForbidden, policies.ActionBlock}},
		{"self-hosted-only", policies.Detection{AppID: "not-in-catalog", Verified: true}, want{policies.VerdictForbidden, policies.ActionBlock}},
		{"self-hosted-only", policies.Detection{AppID: "element"}, want{policies.VerdictUnverified, policies.ActionBlock}},
		{"self-hosted-only", policies.Detection{AppID: "microsoft-teams", Verified: true, Group: "board"}, want{policies.VerdictRestricted, policies.ActionMonitor}},
		{"self-hosted-only", policies.Detection{AppID: "zoom", Verified: true, Group: "board"}, want{policies.VerdictForbidden, policies.ActionWarn}},
		{"monitor-only", policies.Detection{AppID: "wire", Verified: true}, want{policies.VerdictApproved, policies.ActionMonitor}},
		{"monitor-only", policies.Detection{AppID: "zoom", Verified: true}, want{policies.VerdictUnlisted, policies.ActionMonitor}},
		{"monitor-only", policies.Detection{AppID: "zoom"}, want{policies.VerdictUnverified, policies.ActionMonitor}},
	}
	parsed := map[string]*policies.Policy{}
	for _, tt := range tests {
		p, ok := parsed[tt.example]
		if !ok {
			doc, err := policies.ExamplePolicy(tt.example)
			if err != nil {
				t.Fatal(err)
			}
			p = mustParse(t, cat, string(doc))
			parsed[tt.example] = p
		}
		got := policies.Evaluate(p, tt.d)
		if got.Verdict != tt.want.verdict || got.Action != tt.want.action {
			t.Errorf("%s: %+v: %+v, want %s/%s", tt.example, tt.d, got, tt.want.verdict, tt.want.action)
		}
	}
	// Monitor-only never does more than record, whatever is found.
	p := parsed["monitor-only"]
	for _, a := range cat.Apps() {
		for _, d := range []policies.Detection{{AppID: a.ID, Verified: true}, {AppID: a.ID}, {AppID: a.ID, Verified: true, Version: "0.1"}} {
			if got := policies.Evaluate(p, d); got.Action != policies.ActionMonitor {
				t.Errorf("monitor-only: %+v: %+v", d, got)
			}
		}
	}
	if m := p.Media; m == nil || m.ForbiddenApps != policies.ActionMonitor || m.UnverifiedApps != policies.ActionMonitor || m.UnknownApps != policies.ActionMonitor {
		t.Errorf("monitor-only media = %+v", m)
	}
}

// The central policy and the local drop-ins combine to the strictest
// finding, whichever side says it.
func TestEvaluateStrictest(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	parse := func(doc string) *policies.Policy {
		t.Helper()
		p, err := policies.ParsePolicy("p.yaml", []byte(doc), cat)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	central := parse("name: central\napps:\n  zoom: {status: approved}\n  skype: {status: forbidden}\n")
	local := parse("name: local\napps:\n  zoom: {status: forbidden}\n  skype: {status: approved}\n  slack: {status: restricted, note: Internal only.}\nactions: {forbidden: block}\n")
	tests := []struct {
		app        string
		ps         []*policies.Policy
		verdict    policies.Verdict
		action     policies.Action
		verified   bool
		wantFromAt string
	}{
		{"zoom", []*policies.Policy{central, local}, policies.VerdictForbidden, policies.ActionBlock, true, "local forbids what central approves"},
		{"skype", []*policies.Policy{central, local}, policies.VerdictForbidden, policies.ActionWarn, true, "local cannot relax central"},
		{"slack", []*policies.Policy{central, local}, policies.VerdictRestricted, policies.ActionWarn, true, "local fills in what central leaves unlisted"},
		{"teams-for-linux", []*policies.Policy{central, local}, policies.VerdictUnlisted, policies.ActionMonitor, true, "neither names it"},
		{"zoom", []*policies.Policy{nil, local}, policies.VerdictForbidden, policies.ActionBlock, true, "no central policy yet"},
		{"zoom", nil, policies.VerdictUnlisted, policies.ActionMonitor, true, "no policy at all"},
		{"zoom", []*policies.Policy{central}, policies.VerdictUnverified, policies.ActionWarn, false, "a look-alike"},
	}
	for _, tt := range tests {
		f := policies.EvaluateStrictest(tt.ps, policies.Detection{AppID: tt.app, Verified: tt.verified})
		if f.Verdict != tt.verdict || f.Action != tt.action {
			t.Errorf("%s: %s = %s/%s, want %s/%s", tt.wantFromAt, tt.app, f.Verdict, f.Action, tt.verdict, tt.action)
		}
	}
}
