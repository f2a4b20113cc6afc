package policies_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vcguard/vcguard/policies"
)

// A note is a text for every language or a text per language, wherever a
// policy gives one: an app of the policy or of a group, a rule of either.
func TestParsePolicyNotes(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	doc := `name: Notes
apps:
  zoom:
    status: restricted
    note: Only with the company account.
  skype:
    status: restricted
    note: {en: Internal calls only., de: Nur für interne Gespräche.}
rules:
  - when: {e2ee: [none]}
    status: restricted
    note:
      nl: Alleen intern.
      fr: |
        Usage interne seulement.
        Questions : service informatique.
groups:
  radiology:
    apps:
      webex: {status: restricted, note: {de: Nur mit Freigabe.}}
    rules:
      - status: restricted
        note: {en: Group rule.}
`
	p, err := policies.ParsePolicy("notes.yaml", []byte(doc), cat)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		note       policies.Note
		perLang    bool
		en, de, nl string
	}{
		{"plain app note", p.Apps["zoom"].Note, false, "Only with the company account.", "Only with the company account.", "Only with the company account."},
		{"app note per language", p.Apps["skype"].Note, true, "Internal calls only.", "Nur für interne Gespräche.", "Internal calls only."},
		{"rule note without English: first given (nl)", p.Rules[0].Note, true, "Alleen intern.", "Alleen intern.", "Alleen intern."},
		{"group app note", p.Groups["radiology"].Apps["webex"].Note, true, "Nur mit Freigabe.", "Nur mit Freigabe.", "Nur mit Freigabe."},
		{"group rule note", p.Groups["radiology"].Rules[0].Note, true, "Group rule.", "Group rule.", "Group rule."},
	}
	for _, tt := range tests {
		n := tt.note
		if n.IsZero() || n.PerLanguage() != tt.perLang {
			t.Errorf("%s: %#v: zero %v, per language %v", tt.name, n, n.IsZero(), n.PerLanguage())
		}
		if got := n.For("en"); got != tt.en {
			t.Errorf("%s: For(en) = %q, want %q", tt.name, got, tt.en)
		}
		if got := n.For("de"); got != tt.de {
			t.Errorf("%s: For(de) = %q, want %q", tt.name, got, tt.de)
		}
		if got := n.For("nl"); got != tt.nl {
			t.Errorf("%s: For(nl) = %q, want %q", tt.name, got, tt.nl)
		}
	}
	if got := p.Rules[0].Note.For("fr"); got != "Usage interne seulement.\nQuestions : service informatique.\n" {
		t.Errorf("multi-line French note = %q", got)
	}
	if !p.Apps["jitsi-meet"].Note.IsZero() {
		t.Error("an app without a note has one")
	}

	// Evaluate carries the note, in every language.
	f := policies.Evaluate(p, policies.Detection{AppID: "skype", Verified: true})
	if f.Note != p.Apps["skype"].Note || f.Note.For("de") != "Nur für interne Gespräche." {
		t.Errorf("Evaluate(skype).Note = %#v", f.Note)
	}
	f = policies.Evaluate(p, policies.Detection{AppID: "webex", Verified: true, Group: "radiology"})
	if f.Note.For("fr") != "Nur mit Freigabe." || f.From != "groups.radiology.apps.webex" {
		t.Errorf("Evaluate(webex, radiology) = %+v", f)
	}

	// The same as JSON.
	j := `{"name": "j", "apps": {"zoom": {"status": "restricted", "note": {"en": "E", "fr": "F"}},
	  "skype": {"status": "forbidden", "note": "Plain"}}}`
	p, err = policies.ParsePolicy("notes.json", []byte(j), cat)
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Apps["zoom"].Note; n.For("fr") != "F" || n.For("de") != "E" || p.Apps["skype"].Note.For("de") != "Plain" {
		t.Errorf("JSON notes: %#v, %#v", n, p.Apps["skype"].Note)
	}
}

func TestParsePolicyNoteRefusals(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	app := func(note string) string {
		return "name: x\napps:\n  zoom:\n    status: restricted\n    note: " + note + "\n"
	}
	long := strings.Repeat("x", policies.MaxNoteBytes+1)
	tests := []struct {
		name      string
		doc       string
		wantLine  int
		wantField string
		wantMsg   string
	}{
		{"unknown language", app("{en: Hello, es: Hola}"), 5, "apps.zoom.note.es", `"es" is not a language of notes (en, nl, fr, de)`},
		{"language in capitals", app("\n      EN: Hello"), 6, "apps.zoom.note.EN", `"EN" is not a language of notes`},
		{"empty map", app("{}"), 5, "apps.zoom.note", "gives no language"},
		{"empty text", app("{en: Hello, de: ''}"), 5, "apps.zoom.note.de", "is empty"},
		{"null text", app("\n      en: Hello\n      nl:"), 7, "apps.zoom.note.nl", "is empty"},
		{"list", app("[a, b]"), 5, "apps.zoom.note", "must be a text, or a text per language (en, nl, fr, de)"},
		{"list in a language", app("\n      fr: [a]"), 6, "apps.zoom.note.fr", "must be a text"},
		{"plain too long", app(long), 5, "apps.zoom.note", "4097 bytes; at most 4096"},
		{"one language too long", app("\n      en: ok\n      de: " + long), 7, "apps.zoom.note.de", "4097 bytes; at most 4096"},
		{"control character", app(`"bell\a"`), 5, "apps.zoom.note", "control character"},
		{"rule", "name: x\nrules:\n  - status: forbidden\n    note: {de: Nein, it: No}\n", 4, "rules.0.note.it", `"it" is not a language`},
		{"group app", "name: x\ngroups:\n  g:\n    apps:\n      zoom:\n        status: approved\n        note: {}\n", 7, "groups.g.apps.zoom.note", "gives no language"},
		{"group rule", "name: x\ngroups:\n  g:\n    rules:\n      - status: approved\n        note:\n          en: " + long + "\n", 7, "groups.g.rules.0.note.en", "at most 4096"},
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
	// A plain note of exactly the bound, and the bound in each language, pass.
	exact := strings.Repeat("é", policies.MaxNoteBytes/2)
	if _, err := policies.ParsePolicy("p.yaml", []byte(app(exact)), cat); err != nil {
		t.Errorf("note of %d bytes refused: %v", len(exact), err)
	}
	if _, err := policies.ParsePolicy("p.yaml", []byte(app("{en: "+exact+", nl: "+exact+", fr: "+exact+", de: "+exact+"}")), cat); err != nil {
		t.Errorf("four notes of %d bytes refused: %v", len(exact), err)
	}
}

func TestNoteFor(t *testing.T) {
	t.Parallel()
	mustByLang := func(m map[string]string) policies.Note {
		t.Helper()
		n, err := policies.NoteByLanguage(m)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	all := mustByLang(map[string]string{"en": "E", "nl": "N", "fr": "F", "de": "D"})
	tests := []struct {
		name string
		note policies.Note
		lang string
		want string
	}{
		{"zero", policies.Note{}, "de", ""},
		{"plain in any language", policies.PlainNote("P"), "de", "P"},
		{"plain in an unknown language", policies.PlainNote("P"), "xx", "P"},
		{"the reader's language", all, "de", "D"},
		{"Dutch", all, "nl", "N"},
		{"a regional tag", all, "de-AT", "D"},
		{"a POSIX locale", all, "fr_BE.UTF-8", "F"},
		{"upper case", all, "NL", "N"},
		{"a language no note has: English", all, "it", "E"},
		{"empty language: English", all, "", "E"},
		{"missing: English", mustByLang(map[string]string{"en": "E", "fr": "F"}), "de", "E"},
		{"no English: Dutch before French and German", mustByLang(map[string]string{"de": "D", "fr": "F", "nl": "N"}), "en", "N"},
		{"no English: French before German", mustByLang(map[string]string{"de": "D", "fr": "F"}), "it", "F"},
		{"only German", mustByLang(map[string]string{"de": "D"}), "nl", "D"},
	}
	for _, tt := range tests {
		if got := tt.note.For(tt.lang); got != tt.want {
			t.Errorf("%s: For(%q) = %q, want %q", tt.name, tt.lang, got, tt.want)
		}
	}
	if !(policies.Note{}).IsZero() || policies.PlainNote("x").IsZero() || all.IsZero() {
		t.Error("IsZero is wrong")
	}
	if got := all.Texts(); len(got) != 4 || got["fr"] != "F" {
		t.Errorf("Texts() = %v", got)
	}
	if policies.PlainNote("x").Texts() != nil || all.Plain() != "" || policies.PlainNote("x").Plain() != "x" {
		t.Error("Texts or Plain of the other form is not empty")
	}
}

func TestNoteByLanguageRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		m    map[string]string
		want string
	}{
		{"nil", nil, "gives no language"},
		{"empty", map[string]string{}, "gives no language"},
		{"unknown language", map[string]string{"en": "E", "es": "S"}, `"es" is not one of en, nl, fr, de`},
		{"empty text", map[string]string{"de": " "}, "de: is empty"},
		{"too long", map[string]string{"nl": strings.Repeat("x", policies.MaxNoteBytes+1)}, "nl: is 4097 bytes"},
		{"control character", map[string]string{"fr": "a\x00b"}, "control character"},
	} {
		if n, err := policies.NoteByLanguage(tt.m); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: NoteByLanguage = %#v, %v; want error containing %q", tt.name, n, err, tt.want)
		}
	}
}

// A note written back as YAML or JSON keeps its form.
func TestNoteMarshal(t *testing.T) {
	t.Parallel()
	byLang, err := policies.NoteByLanguage(map[string]string{"de": "D", "en": "E"})
	if err != nil {
		t.Fatal(err)
	}
	rule := policies.AppRule{Status: policies.StatusRestricted, Note: byLang}
	y, err := yaml.Marshal(rule)
	if err != nil {
		t.Fatal(err)
	}
	if want := "status: restricted\nnote:\n    de: D\n    en: E\n"; string(y) != want {
		t.Errorf("YAML = %q, want %q", y, want)
	}
	var back policies.AppRule
	if err := yaml.Unmarshal(y, &back); err != nil || !reflect.DeepEqual(back, rule) {
		t.Errorf("YAML round trip = %+v, %v", back, err)
	}
	for _, r := range []policies.AppRule{rule, {Status: policies.StatusApproved, Note: policies.PlainNote("P")}, {Status: policies.StatusApproved}} {
		j, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back policies.AppRule
		if err := json.Unmarshal(j, &back); err != nil || !reflect.DeepEqual(back, r) {
			t.Errorf("JSON %s round trip = %+v, %v", j, back, err)
		}
	}
	if j, _ := json.Marshal(policies.AppRule{Status: policies.StatusApproved}); strings.Contains(string(j), "note") {
		t.Errorf("JSON of a rule without a note = %s", j)
	}
	var r policies.AppRule
	if err := json.Unmarshal([]byte(`{"status": "approved", "note": {"xx": "?"}}`), &r); err == nil {
		t.Error("JSON note in an unknown language accepted")
	}
}

// The European default gives WhatsApp's note in the four languages; a
// German reader reads it in German, an Italian one in English.
func TestEUDefaultNotePerLanguage(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	doc, err := policies.ExamplePolicy("eu-default")
	if err != nil {
		t.Fatal(err)
	}
	p := mustParse(t, cat, string(doc))
	f := policies.Evaluate(p, policies.Detection{AppID: "whatsapp", Verified: true})
	for lang, want := range map[string]string{
		"de": "Ein privater Messenger, kein verwaltetes Werkzeug für dienstliche Besprechungen.",
		"nl": "Een privémessenger, geen beheerd hulpmiddel voor werkoverleg.",
		"fr": "Une messagerie privée, pas un outil géré pour les réunions de travail.",
		"en": "A private messenger, not a managed tool for work meetings.",
		"it": "A private messenger, not a managed tool for work meetings.",
	} {
		if got := f.Note.For(lang); got != want {
			t.Errorf("whatsapp note in %s = %q, want %q", lang, got, want)
		}
	}
}
