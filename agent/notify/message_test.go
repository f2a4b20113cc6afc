package notify

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/policies"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

var placeholder = regexp.MustCompile(`\{[a-z]+\}`)

func TestTranslationsComplete(t *testing.T) {
	t.Parallel()
	en := texts["en"]
	if len(texts) != len(Languages) {
		t.Errorf("texts has %d languages, Languages lists %d", len(texts), len(Languages))
	}
	for _, lang := range Languages {
		table, ok := texts[lang]
		if !ok {
			t.Errorf("no texts for %s", lang)
			continue
		}
		for key, want := range en {
			got, ok := table[key]
			if !ok {
				t.Errorf("%s: key %q missing", lang, key)
				continue
			}
			if strings.TrimSpace(got) == "" {
				t.Errorf("%s: key %q is empty", lang, key)
			}
			gp, wp := placeholders(got), placeholders(want)
			if !slices.Equal(gp, wp) {
				t.Errorf("%s: key %q has placeholders %v, English has %v", lang, key, gp, wp)
			}
			if strings.Count(got, "{") != strings.Count(got, "}") || len(placeholder.FindAllString(got, -1)) != strings.Count(got, "{") {
				t.Errorf("%s: key %q has a malformed placeholder: %q", lang, key, got)
			}
		}
		for key := range table {
			if _, ok := en[key]; !ok {
				t.Errorf("%s: key %q is not in English", lang, key)
			}
		}
	}
}

func placeholders(s string) []string {
	p := placeholder.FindAllString(s, -1)
	slices.Sort(p)
	return slices.Compact(p)
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ locale, want string }{
		{"", "en"},
		{"C", "en"},
		{"POSIX", "en"},
		{"C.UTF-8", "en"},
		{"en_GB.UTF-8", "en"},
		{"nl_NL.UTF-8", "nl"},
		{"nl_BE", "nl"},
		{"nl-BE", "nl"},
		{"NL_nl.utf8", "nl"},
		{"fy_NL", "nl"},
		{"fr_BE@euro", "fr"},
		{"fr_FR.ISO-8859-15@euro", "fr"},
		{"fr-CA", "fr"},
		{"br_FR", "fr"},
		{"de-AT", "de"},
		{"de_CH.UTF-8", "de"},
		{"gsw-CH", "de"},
		{"lb_LU", "de"},
		{"de-Latn-DE", "de"},
		{"deu", "de"},
		{"pl_PL.UTF-8", "en"},
		{"es-ES", "en"},
		{"pl:nl:en", "nl"},       // GNU LANGUAGE list: first we have
		{"da,de;q=0.8,en", "de"}, // Accept-Language
		{"dede", "en"},
		{"nl.UTF-8", "nl"},
	} {
		if got := Language(tc.locale); got != tc.want {
			t.Errorf("Language(%q) = %q, want %q", tc.locale, got, tc.want)
		}
	}
}

func catalogApp(t *testing.T, id string) *policies.App {
	t.Helper()
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	app, ok := cat.App(id)
	if !ok {
		t.Fatalf("catalog has no %s", id)
	}
	return app
}

// goldenNotices are the notices rendered into testdata/render/.
func goldenNotices(t *testing.T) map[string]Notice {
	zoom := catalogApp(t, "zoom")
	chime := catalogApp(t, "amazon-chime")
	teams := catalogApp(t, "microsoft-teams")
	webex := catalogApp(t, "webex")
	jitsi := catalogApp(t, "jitsi-meet")
	firefox := catalogApp(t, "firefox")
	chrome := catalogApp(t, "chrome")
	edge := catalogApp(t, "microsoft-edge")
	meet := catalogApp(t, "google-meet")
	whereby := catalogApp(t, "whereby")
	perLanguage, err := policies.NoteByLanguage(map[string]string{
		"en": "Work meetings only with the work account.", "nl": "Vergaderingen voor het werk alleen met het werkaccount.",
		"fr": "Réunions de travail uniquement avec le compte professionnel.", "de": "Dienstliche Besprechungen nur mit dem dienstlichen Konto.",
	})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Notice{
		// An approved app set up the wrong way (connection findings).
		"wrong-server-warn": {
			Key: "jitsi-meet/wrong_server/meet.jit.si", AppID: jitsi.ID, AppName: jitsi.Name, Verdict: policies.VerdictApproved,
			Action: policies.ActionWarn, ConnectionFinding: policies.ConnectionWrongServer, ConnectionDetail: "meet.jit.si",
			InfoURL: "https://intranet.example.org/jitsi",
		},
		"wrong-server-block-note": {
			Key: "jitsi-meet/wrong_server/meet.jit.si", AppID: jitsi.ID, AppName: jitsi.Name,
			Action: policies.ActionBlock, Grace: 2 * time.Minute, ConnectionFinding: policies.ConnectionWrongServer, ConnectionDetail: "meet.jit.si",
			Note: policies.PlainNote("Our server: https://meet.example.org"),
		},
		"personal-account-warn": {
			Key: "microsoft-teams/personal_account/personal account", AppID: teams.ID, AppName: teams.Name,
			Action: policies.ActionWarn, ConnectionFinding: policies.ConnectionPersonalAccount, ConnectionDetail: "personal account",
		},
		"personal-account-block-alt-note": {
			Key: "microsoft-teams/personal_account/example.net", AppID: teams.ID, AppName: teams.Name,
			Action: policies.ActionBlock, Grace: 90 * time.Second, ConnectionFinding: policies.ConnectionPersonalAccount, ConnectionDetail: "example.net",
			Alternative: jitsi.ID, AlternativeName: jitsi.Name, Note: perLanguage, InfoURL: "https://intranet.example.org/accounts",
		},
		// A browser that lets unapproved or unknown sites use the camera
		// or microphone (site findings).
		"unapproved-site-alt": {
			Key: "firefox/unapproved_site", AppID: firefox.ID, AppName: firefox.Name,
			Action: policies.ActionWarn, SiteFinding: policies.SiteUnapproved, SiteServices: []string{meet.Name},
			Alternative: jitsi.ID, AlternativeName: jitsi.Name,
		},
		"unapproved-sites-note": {
			Key: "chrome/unapproved_site", AppID: chrome.ID, AppName: chrome.Name,
			Action: policies.ActionWarn, SiteFinding: policies.SiteUnapproved, SiteServices: []string{meet.Name, whereby.Name, zoom.Name},
			Note: perLanguage, InfoURL: "https://intranet.example.org/browsers",
		},
		"unknown-site": {
			Key: "firefox/unknown_site", AppID: firefox.ID, AppName: firefox.Name,
			Action: policies.ActionWarn, SiteFinding: policies.SiteUnknown,
		},
		"unknown-site-alt-note": {
			Key: "microsoft-edge/unknown_site", AppID: edge.ID, AppName: edge.Name,
			Action: policies.ActionWarn, SiteFinding: policies.SiteUnknown,
			Alternative: jitsi.ID, AlternativeName: jitsi.Name, Note: policies.PlainNote("Questions: IT desk, extension 4711."),
			InfoURL: "https://intranet.example.org/browsers",
		},
		"forbidden-block": {
			Key: "zoom/forbidden/1234", AppID: zoom.ID, AppName: zoom.Name, Facts: zoom.Facts,
			Verdict: policies.VerdictForbidden, Action: policies.ActionBlock, Grace: 2 * time.Minute,
			Alternative: jitsi.ID, AlternativeName: jitsi.Name,
			InfoURL: "https://intranet.example.org/videobellen",
		},
		"forbidden-warn-note": {
			Key: "amazon-chime/forbidden", AppID: chime.ID, AppName: chime.Name, Facts: chime.Facts,
			Verdict: policies.VerdictForbidden, Action: policies.ActionWarn,
			Note: policies.PlainNote("Amazon Chime is being discontinued; the service desk will move your meetings."),
		},
		"restricted": {
			Key: "microsoft-teams/restricted", AppID: teams.ID, AppName: teams.Name, Facts: teams.Facts,
			Verdict: policies.VerdictRestricted, Action: policies.ActionWarn,
			Note:    policies.PlainNote("Not for confidential or secret information (BIV level 2 and up)."),
			InfoURL: "https://intranet.example.org/teams",
		},
		"unverified-block": {
			Key: "zoom/unverified/4321", AppID: zoom.ID, AppName: zoom.Name, Facts: zoom.Facts,
			Verdict: policies.VerdictUnverified, Action: policies.ActionBlock, Grace: 30 * time.Second,
			Alternative: jitsi.ID, AlternativeName: jitsi.Name,
		},
		"outdated": {
			Key: "webex/outdated", AppID: webex.ID, AppName: webex.Name, Facts: webex.Facts,
			Verdict: policies.VerdictOutdated, Action: policies.ActionWarn,
			Version: "43.2.0.25211", MinVersion: "44.6",
			InfoURL: "https://intranet.example.org/updates",
		},
	}
}

func formatMessage(m Message) string {
	return fmt.Sprintf("key: %s\ntitle: %s\nurgency: %s\nurl: %s\nurl_label: %s\nbody:\n%s\n",
		m.Key, m.Title, m.Urgency, m.URL, m.URLLabel, m.Body)
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for name, n := range goldenNotices(t) {
		for _, lang := range Languages {
			t.Run(name+"/"+lang, func(t *testing.T) {
				t.Parallel()
				got := formatMessage(Render(n, lang))
				path := filepath.Join("testdata", "render", name+"."+lang+".txt")
				if *updateGolden {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("Render(%s, %s) differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", name, lang, path, got, want)
				}
			})
		}
	}
}

// TestRenderEveryCombination renders every verdict, action and fact value
// in every language and checks that nothing is left unfilled.
func TestRenderEveryCombination(t *testing.T) {
	t.Parallel()
	verdicts := []policies.Verdict{policies.VerdictForbidden, policies.VerdictRestricted, policies.VerdictUnverified,
		policies.VerdictOutdated, policies.VerdictUnlisted, policies.VerdictApproved, "something-new"}
	actions := []policies.Action{policies.ActionWarn, policies.ActionBlock}
	graces := []time.Duration{0, time.Second, 45 * time.Second, time.Minute, 90 * time.Second, 2 * time.Minute, 150 * time.Second}
	var facts []*policies.Facts
	facts = append(facts, nil)
	for _, e := range policies.E2EEValues {
		for _, d := range policies.DataLocationValues {
			facts = append(facts, &policies.Facts{
				E2EE:           &policies.Fact[string]{Value: e},
				DataLocation:   &policies.Fact[string]{Value: d},
				Certifications: &policies.Fact[[]string]{},
			})
		}
	}
	for _, lang := range append(slices.Clone(Languages), "xx") {
		for _, v := range verdicts {
			for _, a := range actions {
				for _, g := range graces {
					for _, f := range facts {
						for _, extra := range []bool{false, true} {
							n := Notice{AppID: "zoom", AppName: "Zoom Workplace", Verdict: v, Action: a, Grace: g, Facts: f, MinVersion: "6.0"}
							if extra {
								n.Note, n.InfoURL, n.Alternative, n.Version = policies.PlainNote("Org note."), "https://example.org/i", "jitsi-meet", "5.1"
							}
							m := Render(n, lang)
							if m.Title == "" || m.Body == "" {
								t.Fatalf("Render(%+v, %s): empty title or body: %+v", n, lang, m)
							}
							for _, s := range []string{m.Title, m.Body, m.URLLabel} {
								if strings.ContainsAny(s, "{}") {
									t.Fatalf("Render(%+v, %s): unfilled placeholder in %q", n, lang, s)
								}
							}
							if strings.Contains(m.Body, "\n\n") {
								t.Fatalf("Render(%+v, %s): empty line in body %q", n, lang, m.Body)
							}
						}
					}
				}
			}
		}
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	zoom := catalogApp(t, "zoom")
	tests := []struct {
		name     string
		n        Notice
		lang     string
		title    string
		contains []string
		excludes []string
		urgency  Urgency
		url      string
	}{
		{
			name:     "forbidden says why from negative facts only",
			n:        Notice{AppName: zoom.Name, Verdict: policies.VerdictForbidden, Action: policies.ActionWarn, Facts: zoom.Facts},
			lang:     "en",
			title:    "Zoom Workplace is not approved",
			contains: []string{"End-to-end encryption is off by default.", "Meeting data may be processed outside the EU.", "Please use a tool approved by your organisation."},
			excludes: []string{"certification", "closed"},
			urgency:  UrgencyNormal,
		},
		{
			name:     "unverified leaves out the genuine app's facts",
			n:        Notice{AppName: "Zoom Workplace", Verdict: policies.VerdictUnverified, Action: policies.ActionWarn, Facts: zoom.Facts, Alternative: "jitsi-meet"},
			lang:     "nl",
			title:    "Niet de echte app: Zoom Workplace",
			contains: []string{"Een programma dat zich voordoet als Zoom Workplace, is niet de echte app.", "Gebruik in plaats daarvan jitsi-meet."},
			excludes: []string{"versleuteling", "EU"},
			urgency:  UrgencyNormal,
		},
		{
			name:     "block in one minute",
			n:        Notice{AppName: "Zoom Workplace", Verdict: policies.VerdictForbidden, Action: policies.ActionBlock, Grace: time.Minute},
			lang:     "de",
			title:    "Zoom Workplace ist nicht zugelassen",
			contains: []string{"Zoom Workplace wird in 1 Minute beendet."},
			urgency:  UrgencyCritical,
		},
		{
			name:     "block in 90 seconds",
			n:        Notice{AppName: "Zoom Workplace", Verdict: policies.VerdictForbidden, Action: policies.ActionBlock, Grace: 90 * time.Second},
			lang:     "fr",
			contains: []string{"L’application Zoom Workplace sera fermée dans 90 secondes."},
			urgency:  UrgencyCritical,
		},
		{
			name:     "block rounds up to minutes",
			n:        Notice{AppName: "Zoom Workplace", Verdict: policies.VerdictForbidden, Action: policies.ActionBlock, Grace: 150 * time.Second},
			lang:     "en",
			contains: []string{"Zoom Workplace will be closed in 3 minutes."},
			urgency:  UrgencyCritical,
		},
		{
			name:     "restricted without note",
			n:        Notice{AppName: "Microsoft Teams", Verdict: policies.VerdictRestricted, Action: policies.ActionWarn},
			lang:     "en",
			title:    "Microsoft Teams: allowed with restrictions",
			contains: []string{"Your organisation allows Microsoft Teams only with restrictions."},
			urgency:  UrgencyNormal,
		},
		{
			name:     "outdated without a known version",
			n:        Notice{AppName: "Webex", Verdict: policies.VerdictOutdated, Action: policies.ActionWarn, MinVersion: "44.6"},
			lang:     "en",
			title:    "Webex needs to be updated",
			contains: []string{"This version of Webex is older than the minimum version 44.6"},
			urgency:  UrgencyNormal,
		},
		{
			name:    "name falls back to id, unknown verdict reads as unlisted",
			n:       Notice{AppID: "newtool", Verdict: "from-the-future", Action: policies.ActionWarn},
			lang:    "en",
			title:   "newtool is not on the approved list",
			urgency: UrgencyNormal,
		},
		{
			name:     "a non-web URL is not offered",
			n:        Notice{AppName: "Zoom", Verdict: policies.VerdictForbidden, Action: policies.ActionWarn, InfoURL: "file:///etc/passwd"},
			lang:     "en",
			excludes: []string{"file:", "More information"},
			urgency:  UrgencyNormal,
		},
		{
			name:     "web URL is offered",
			n:        Notice{AppName: "Zoom", Verdict: policies.VerdictForbidden, Action: policies.ActionWarn, InfoURL: " https://example.org/vc?a=1&b=2 "},
			lang:     "en",
			contains: []string{"More information: https://example.org/vc?a=1&b=2"},
			urgency:  UrgencyNormal,
			url:      "https://example.org/vc?a=1&b=2",
		},
		{
			name:     "placeholders in outside text stay text",
			n:        Notice{AppName: "Z{alt}", Verdict: policies.VerdictForbidden, Action: policies.ActionWarn, Alternative: "{app}", Note: policies.PlainNote("Call {url}")},
			lang:     "en",
			title:    "Z{alt} is not approved",
			contains: []string{"Please use {app} instead.", "Call {url}"},
			urgency:  UrgencyNormal,
		},
		{
			name:     "control characters are dropped",
			n:        Notice{AppName: "Zo\x1b[31mom\u202e", Verdict: policies.VerdictOutdated, Version: "1.0\r\nFAKE", MinVersion: "2"},
			lang:     "en",
			title:    "Zo[31mom needs to be updated",
			contains: []string{"Version 1.0  FAKE of Zo[31mom"},
			urgency:  UrgencyNormal,
		},
		{
			name:     "approved is low urgency and never blocks",
			n:        Notice{AppName: "Jitsi Meet", Verdict: policies.VerdictApproved, Action: policies.ActionBlock},
			lang:     "en",
			title:    "Jitsi Meet is approved",
			excludes: []string{"closed"},
			urgency:  UrgencyLow,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Render(tc.n, tc.lang)
			if tc.title != "" && m.Title != tc.title {
				t.Errorf("title = %q, want %q", m.Title, tc.title)
			}
			for _, s := range tc.contains {
				if !strings.Contains(m.Body, s) {
					t.Errorf("body lacks %q:\n%s", s, m.Body)
				}
			}
			for _, s := range tc.excludes {
				if strings.Contains(m.Body, s) {
					t.Errorf("body has %q:\n%s", s, m.Body)
				}
			}
			if m.Urgency != tc.urgency {
				t.Errorf("urgency = %s, want %s", m.Urgency, tc.urgency)
			}
			if m.URL != tc.url {
				t.Errorf("URL = %q, want %q", m.URL, tc.url)
			}
		})
	}
}

func TestCleanCutsLongText(t *testing.T) {
	t.Parallel()
	got := clean(strings.Repeat("é", 600), maxNoteLen, true)
	if n := len([]rune(got)); n != maxNoteLen+1 || !strings.HasSuffix(got, "…") {
		t.Errorf("clean of 600 runes: %d runes, suffix %q", n, got[len(got)-3:])
	}
}

// A notice about a camera, microphone or screen use names the device and
// the app (or the process), says what was found and what to do, in every
// language, with no placeholder left; block makes it critical.
func TestRenderMedia(t *testing.T) {
	t.Parallel()
	want := map[string]map[string]string{ // lang -> finding -> a word the title must hold
		"en": {"unknown_app": "microphone", "screen_share": "sharing your screen", "output_recording": "recording", "left_running": "still running", "left_on": "still in use", "forbidden_app": "camera", "unverified_app": "genuine"},
		"nl": {"unknown_app": "microfoon", "screen_share": "deelt uw scherm", "output_recording": "neemt", "left_running": "nog geopend", "left_on": "nog in gebruik", "forbidden_app": "camera", "unverified_app": "echte"},
		"fr": {"unknown_app": "microphone", "screen_share": "partage votre écran", "output_recording": "enregistre", "left_running": "toujours ouvert", "left_on": "toujours utilisé", "forbidden_app": "caméra", "unverified_app": "authentique"},
		"de": {"unknown_app": "Mikrofon", "screen_share": "teilt Ihren Bildschirm", "output_recording": "nimmt", "left_running": "läuft noch", "left_on": "wird noch verwendet", "forbidden_app": "Kamera", "unverified_app": "echte"},
	}
	device := map[string]string{"unknown_app": "microphone", "screen_share": "screen", "output_recording": "output_audio", "left_running": "", "left_on": "microphone", "forbidden_app": "camera", "unverified_app": "camera"}
	for lang, findings := range want {
		for finding, word := range findings {
			n := Notice{Key: "m", Action: policies.ActionWarn, MediaFinding: policies.MediaFindingKind(finding), DeviceKind: device[finding], Process: "arecord"}
			if finding != "unknown_app" {
				n.AppID, n.AppName = "zoom", "Zoom Workplace"
			}
			m := Render(n, lang)
			text := m.Title + "\n" + m.Body
			if !strings.Contains(text, word) || strings.Contains(text, "{") || m.Body == "" {
				t.Errorf("%s %s: %q\nwant %q in it and no placeholder left", lang, finding, text, word)
			}
			if name := firstNonEmpty(n.AppName, n.Process); !strings.Contains(m.Title+m.Body, name) {
				t.Errorf("%s %s: %q does not name %q", lang, finding, text, name)
			}
			if m.Urgency != UrgencyNormal {
				t.Errorf("%s %s: urgency %v, want normal for warn", lang, finding, m.Urgency)
			}
		}
	}
	block := Render(Notice{Key: "m", AppID: "skype", AppName: "Skype", Action: policies.ActionBlock, Grace: time.Minute,
		MediaFinding: policies.MediaForbiddenApp, DeviceKind: "camera", Alternative: "jitsi-meet", AlternativeName: "Jitsi Meet"}, "de")
	if block.Urgency != UrgencyCritical || !strings.Contains(block.Body, "Skype wird in 1 Minute beendet") || !strings.Contains(block.Body, "Jitsi Meet") {
		t.Errorf("block: %+v; want critical, the closing time and the alternative", block)
	}
}

// The new facts explain a refusal in every language: a discontinued
// product names its date as the language writes it, the weightiest
// reasons come first, and a notice lists no more than maxReasons.
func TestRenderExplainsNewFacts(t *testing.T) {
	src, day := "https://example.org/fact", "2026-12-06"
	str := func(v string) *policies.Fact[string] {
		return &policies.Fact[string]{Value: v, Source: src, Checked: day}
	}
	facts := &policies.Facts{
		E2EE:               str("default"),
		DataLocation:       str("eu"),
		Lifecycle:          &policies.LifecycleFact{Fact: *str("discontinued"), Date: "2025-05-05"},
		Jurisdiction:       &policies.JurisdictionFact{Fact: *str("third_country"), Seat: "US"},
		ProcessorAgreement: str("none"),
		BusinessModel:      str("advertising"),
		Telemetry:          str("always"),
	}
	want := map[string][]string{
		"en": {"discontinued on 5 May 2025", "established outside the EU", "no data processing agreement"},
		"nl": {"op 5 mei 2025 stopgezet", "buiten de EU gevestigd", "geen verwerkersovereenkomst"},
		"fr": {"abandonné le 5 mai 2025", "établi hors de l’UE", "pas d’accord de sous-traitance"},
		"de": {"am 5. Mai 2025 eingestellt", "Sitz außerhalb der EU", "keinen Auftragsverarbeitungsvertrag"},
	}
	for _, lang := range Languages {
		m := Render(Notice{Key: "k", AppID: "skype", AppName: "Skype", Verdict: policies.VerdictForbidden, Action: policies.ActionWarn, Facts: facts}, lang)
		last := -1
		for _, w := range want[lang] {
			i := strings.Index(m.Body, w)
			if i < 0 {
				t.Errorf("%s: body lacks %q:\n%s", lang, w, m.Body)
				continue
			}
			if i < last {
				t.Errorf("%s: %q comes before a weightier reason:\n%s", lang, w, m.Body)
			}
			last = i
		}
		for _, not := range []string{"advertising", "usage data", "gebruiksgegevens", "publicité", "Nutzungsdaten"} {
			if strings.Contains(m.Body, not) {
				t.Errorf("%s: body lists more than %d reasons (%q):\n%s", lang, maxReasons, not, m.Body)
			}
		}
	}
	// An approved tool's notice does not argue against it.
	if m := Render(Notice{Key: "k", AppID: "skype", AppName: "Skype", Verdict: policies.VerdictApproved, Facts: facts}, "en"); strings.Contains(m.Body, "discontinued") {
		t.Errorf("approved notice lists reasons:\n%s", m.Body)
	}
}

func TestLocalDate(t *testing.T) {
	for _, tc := range []struct{ date, lang, want string }{
		{"2025-07-01", "en", "1 July 2025"}, {"2025-07-01", "nl", "1 juli 2025"},
		{"2025-08-15", "fr", "15 août 2025"}, {"2025-03-02", "de", "2. März 2025"},
		{"2025-03-02", "xx", "2 March 2025"}, {"soon", "en", "soon"},
	} {
		if got := localDate(tc.date, tc.lang); got != tc.want {
			t.Errorf("localDate(%q, %q) = %q, want %q", tc.date, tc.lang, got, tc.want)
		}
	}
}

// A notice about an approved app's settings says what was found and what
// to do, in every language, for every kind; one of a kind this version
// does not know says only that a setting is not as required.
func TestRenderPosture(t *testing.T) {
	for _, lang := range Languages {
		for _, k := range policies.PostureKinds {
			m := Render(Notice{Key: "p", AppID: "zoom", AppName: "Zoom Workplace", Action: policies.ActionWarn, PostureFinding: k, PostureDetail: ".mp4"}, lang)
			if !strings.Contains(m.Title, "Zoom Workplace") || strings.Count(m.Body, "\n") < 1 || strings.Contains(m.Body, "{") {
				t.Errorf("%s/%s: %q\n%s", lang, k, m.Title, m.Body)
			}
			if k == policies.PostureRecording && !strings.Contains(m.Body, ".mp4") {
				t.Errorf("%s/recording: body lacks the file type:\n%s", lang, m.Body)
			}
		}
	}
	m := Render(Notice{Key: "p", AppID: "zoom", AppName: "Zoom", Action: policies.ActionWarn, PostureFinding: policies.PostureOutdated, PostureDetail: "installed 6.0.2, offered 6.2.11"}, "de")
	if m.Title != "Zoom muss aktualisiert werden" || !strings.Contains(m.Body, "(installed 6.0.2, offered 6.2.11)") {
		t.Errorf("outdated, de: %q\n%s", m.Title, m.Body)
	}
	m = Render(Notice{Key: "p", AppID: "zoom", AppName: "Zoom", Action: policies.ActionWarn, PostureFinding: policies.PostureRecording}, "fr")
	if !strings.Contains(m.Body, "Un enregistrement local de Zoom est apparu") {
		t.Errorf("recording without detail, fr:\n%s", m.Body)
	}
	m = Render(Notice{Key: "p", AppID: "zoom", AppName: "Zoom", Action: policies.ActionWarn, PostureFinding: "screen_saver_off"}, "nl")
	if m.Title != "Zoom is niet ingesteld zoals je organisatie vereist" {
		t.Errorf("unknown kind, nl: %q", m.Title)
	}
}

// A notice about a multi-service host that is not allowed says why in
// every language: it hides which service uses the camera, naming at most
// three of the services it offers; an allowed host's notice does not.
func TestRenderMultiServiceHost(t *testing.T) {
	services := []string{"Microsoft Teams", "Slack", "WhatsApp", "Zoom Workplace"}
	want := map[string]string{
		"en": "several services in one window, such as Microsoft Teams, Slack and WhatsApp: which of them uses your camera",
		"nl": "meerdere diensten in één venster, zoals Microsoft Teams, Slack en WhatsApp: welke daarvan uw camera",
		"fr": "plusieurs services, comme Microsoft Teams, Slack et WhatsApp : impossible de vérifier lequel utilise votre caméra",
		"de": "mehrerer Dienste in einem Fenster, etwa Microsoft Teams, Slack und WhatsApp: Welcher davon Ihre Kamera",
	}
	for _, lang := range Languages {
		for _, v := range []policies.Verdict{policies.VerdictForbidden, policies.VerdictRestricted, policies.VerdictUnlisted} {
			m := Render(Notice{Key: "k", AppID: "ferdium", AppName: "Ferdium", Verdict: v, Action: policies.ActionWarn, EmbeddedServices: services}, lang)
			if !strings.Contains(m.Body, want[lang]) {
				t.Errorf("%s, %s: body lacks %q:\n%s", lang, v, want[lang], m.Body)
			}
			if strings.Contains(m.Body, "Zoom") {
				t.Errorf("%s, %s: body names a fourth service:\n%s", lang, v, m.Body)
			}
		}
	}
	for _, v := range []policies.Verdict{policies.VerdictApproved, policies.VerdictUnverified, policies.VerdictOutdated} {
		if m := Render(Notice{Key: "k", AppID: "ferdium", AppName: "Ferdium", Verdict: v, Action: policies.ActionWarn, EmbeddedServices: services}, "en"); strings.Contains(m.Body, "several services") {
			t.Errorf("%s notice gives the host's reason:\n%s", v, m.Body)
		}
	}
	// A name that would break the line is cleaned, an empty one skipped.
	m := Render(Notice{Key: "k", AppID: "ferdium", Verdict: policies.VerdictForbidden, Action: policies.ActionWarn, EmbeddedServices: []string{"", "Slack\nInstall evil"}}, "en")
	if strings.Contains(m.Body, "Slack\nInstall") {
		t.Errorf("a service name broke the body:\n%s", m.Body)
	}
}
