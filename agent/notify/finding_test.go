package notify

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/policies"
)

// Notices about an approved app set up the wrong way and about a
// browser's sites: each says what was found of which app, what to do, and
// only a connection finding may close the app. Each case is rendered as
// given and after a trip through the IPC (ToWire, the wire, FromWire).
func TestRenderConnectionAndSite(t *testing.T) {
	t.Parallel()
	jitsi := func(edit func(n *Notice)) Notice {
		n := Notice{Key: "j", AppID: "jitsi-meet", AppName: "Jitsi Meet", Action: policies.ActionWarn,
			ConnectionFinding: policies.ConnectionWrongServer, ConnectionDetail: "meet.jit.si"}
		edit(&n)
		return n
	}
	teams := func(edit func(n *Notice)) Notice {
		n := Notice{Key: "t", AppID: "microsoft-teams", AppName: "Microsoft Teams", Action: policies.ActionWarn,
			ConnectionFinding: policies.ConnectionPersonalAccount, ConnectionDetail: "personal account"}
		edit(&n)
		return n
	}
	firefox := func(edit func(n *Notice)) Notice {
		n := Notice{Key: "f", AppID: "firefox", AppName: "Firefox", Action: policies.ActionWarn,
			SiteFinding: policies.SiteUnapproved, SiteServices: []string{"Google Meet"}}
		edit(&n)
		return n
	}
	none := func(*Notice) {}
	tests := []struct {
		name     string
		n        Notice
		lang     string
		title    string
		body     []string // the body's lines, exactly
		urgency  Urgency
		url      string
		internal bool // not carried by the IPC (it refuses the notice)
	}{
		{
			name:  "wrong server",
			n:     jitsi(none),
			lang:  "en",
			title: "Jitsi Meet: not your organisation's server",
			body: []string{
				"Jitsi Meet is set up for meet.jit.si, which your organisation has not approved.",
				"Please use your organisation's server for work meetings.",
			},
			urgency: UrgencyNormal,
		},
		{
			name: "wrong server, block, alternative, note, page, in German",
			n: jitsi(func(n *Notice) {
				n.Action, n.Grace, n.AlternativeName, n.Note, n.InfoURL = policies.ActionBlock, time.Minute, "Nextcloud Talk", policies.PlainNote("Unser Server: meet.example.org"), "https://intra.example.org/jitsi"
			}),
			lang:  "de",
			title: "Jitsi Meet: nicht der Server Ihrer Organisation",
			body: []string{
				"Jitsi Meet ist für meet.jit.si eingerichtet, einen Server, den Ihre Organisation nicht freigegeben hat.",
				"Jitsi Meet wird in 1 Minute beendet. Bitte speichern Sie Ihre Arbeit.",
				"Bitte verwenden Sie für dienstliche Besprechungen den Server Ihrer Organisation.",
				"Bitte verwenden Sie stattdessen Nextcloud Talk.",
				"Unser Server: meet.example.org",
				"Weitere Informationen: https://intra.example.org/jitsi",
			},
			urgency: UrgencyCritical,
			url:     "https://intra.example.org/jitsi",
		},
		{
			name:    "wrong server, closed now, in Dutch",
			n:       jitsi(func(n *Notice) { n.Action = policies.ActionBlock }),
			lang:    "nl",
			title:   "Jitsi Meet: niet de server van uw organisatie",
			body:    []string{"Jitsi Meet is ingesteld op meet.jit.si, een server die uw organisatie niet heeft goedgekeurd.", "Jitsi Meet wordt afgesloten.", "Gebruik voor zakelijke vergaderingen de server van uw organisatie."},
			urgency: UrgencyCritical,
		},
		{
			name:    "wrong server without a host",
			n:       jitsi(func(n *Notice) { n.ConnectionDetail = "" }),
			lang:    "fr",
			title:   "Serveur non approuvé : Jitsi Meet",
			body:    []string{"L’application Jitsi Meet est configurée pour un serveur que votre organisation n’a pas approuvé.", "Veuillez utiliser le serveur de votre organisation pour les réunions de travail."},
			urgency: UrgencyNormal,
		},
		{
			name:     "a host with control and direction characters is shown without them",
			n:        jitsi(func(n *Notice) { n.ConnectionDetail = "meet.\u202eis.tij\x1b[0m" }),
			lang:     "en",
			title:    "Jitsi Meet: not your organisation's server",
			body:     []string{"Jitsi Meet is set up for meet.is.tij[0m, which your organisation has not approved.", "Please use your organisation's server for work meetings."},
			urgency:  UrgencyNormal,
			internal: true,
		},
		{
			name:    "personal account",
			n:       teams(none),
			lang:    "en",
			title:   "Microsoft Teams: not your organisation's account",
			body:    []string{"Microsoft Teams is signed in with an account that is not your organisation's (a personal account).", "Please sign in with your work account."},
			urgency: UrgencyNormal,
		},
		{
			name:    "another organisation's domain, in French",
			n:       teams(func(n *Notice) { n.ConnectionDetail = "example.net" }),
			lang:    "fr",
			title:   "Compte non approuvé : Microsoft Teams",
			body:    []string{"L’application Microsoft Teams est connectée avec un compte qui n’est pas celui de votre organisation (example.net).", "Veuillez vous connecter avec votre compte professionnel."},
			urgency: UrgencyNormal,
		},
		{
			name:    "an account of unknown kind names nothing",
			n:       teams(func(n *Notice) { n.ConnectionDetail = "unknown account" }),
			lang:    "nl",
			title:   "Microsoft Teams: niet het account van uw organisatie",
			body:    []string{"Microsoft Teams is aangemeld met een account dat niet van uw organisatie is.", "Meld u aan met uw werkaccount."},
			urgency: UrgencyNormal,
		},
		{
			name:     "a connection finding this version does not know",
			n:        teams(func(n *Notice) { n.ConnectionFinding, n.ConnectionDetail = "expired_licence", "x" }),
			lang:     "en",
			title:    "Microsoft Teams is not set up as your organisation requires",
			body:     []string{"Microsoft Teams is not set up the way your organisation requires.", "Please contact your IT helpdesk."},
			urgency:  UrgencyNormal,
			internal: true,
		},
		{
			name:    "unapproved site with an alternative",
			n:       firefox(func(n *Notice) { n.AlternativeName = "Jitsi Meet" }),
			lang:    "en",
			title:   "Firefox: Google Meet is not approved",
			body:    []string{"Firefox lets Google Meet use the camera or microphone; your organisation has not approved it.", "Please use Jitsi Meet instead."},
			urgency: UrgencyNormal,
		},
		{
			name:    "two unapproved sites, in Dutch",
			n:       firefox(func(n *Notice) { n.SiteServices = []string{"Google Meet", "Whereby"} }),
			lang:    "nl",
			title:   "Firefox: vergaderdiensten die niet zijn goedgekeurd",
			body:    []string{"Firefox laat Google Meet en Whereby de camera of microfoon gebruiken; uw organisatie heeft die diensten niet goedgekeurd.", "Gebruik een programma dat uw organisatie heeft goedgekeurd."},
			urgency: UrgencyNormal,
		},
		{
			name:    "an unapproved site not named",
			n:       firefox(func(n *Notice) { n.SiteServices = nil }),
			lang:    "en",
			title:   "Firefox: a meeting service that is not approved",
			body:    []string{"Firefox lets a meeting service that your organisation has not approved use the camera or microphone.", "Please use a tool approved by your organisation."},
			urgency: UrgencyNormal,
		},
		{
			name:  "eight services named, and no more",
			n:     firefox(func(n *Notice) { n.SiteServices = []string{"A", "B", "", "C", "D", "E", "F", "G", "H", "I", "J"} }),
			lang:  "en",
			title: "Firefox: meeting services that are not approved",
			body: []string{"Firefox lets A, B, C, D, E, F, G and H use the camera or microphone; your organisation has not approved them.",
				"Please use a tool approved by your organisation."},
			urgency:  UrgencyNormal,
			internal: true,
		},
		{
			name:    "unknown site",
			n:       firefox(func(n *Notice) { n.SiteFinding, n.SiteServices = policies.SiteUnknown, nil }),
			lang:    "en",
			title:   "Firefox: a site outside your organisation's list",
			body:    []string{"Firefox lets a site outside your organisation's list use the camera or microphone.", "If you use it for work meetings, please use a tool approved by your organisation instead."},
			urgency: UrgencyNormal,
		},
		{
			name: "unknown site, note and page, in German",
			n: firefox(func(n *Notice) {
				n.SiteFinding, n.SiteServices, n.Note, n.InfoURL = policies.SiteUnknown, nil, policies.PlainNote("Fragen: IT, 4711"), "https://intra.example.org/web"
			}),
			lang:  "de",
			title: "Firefox: eine Website außerhalb der Liste Ihrer Organisation",
			body: []string{
				"Firefox erlaubt einer Website, die nicht auf der Liste Ihrer Organisation steht, die Kamera oder das Mikrofon zu verwenden.",
				"Wenn Sie sie für dienstliche Besprechungen nutzen, verwenden Sie bitte stattdessen eine von Ihrer Organisation freigegebene Anwendung.",
				"Fragen: IT, 4711",
				"Weitere Informationen: https://intra.example.org/web",
			},
			urgency: UrgencyNormal,
			url:     "https://intra.example.org/web",
		},
		{
			// A policy cannot close a browser for its sites; a notice that
			// says block anyway does not claim it will.
			name:     "a site notice never closes the browser",
			n:        firefox(func(n *Notice) { n.Action, n.Grace = policies.ActionBlock, time.Minute }),
			lang:     "en",
			title:    "Firefox: Google Meet is not approved",
			body:     []string{"Firefox lets Google Meet use the camera or microphone; your organisation has not approved it.", "Please use a tool approved by your organisation."},
			urgency:  UrgencyNormal,
			internal: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := []Notice{tc.n}
			if !tc.internal {
				ns = append(ns, FromWire(wireRoundTrip(t, ToWire(tc.n))))
			} else if err := ToWire(tc.n).Validate(); err == nil {
				t.Errorf("the IPC carries %+v; the case says it does not", tc.n)
			}
			for i, n := range ns {
				m := Render(n, tc.lang)
				via := [...]string{"as given", "through the IPC"}[i]
				if m.Title != tc.title {
					t.Errorf("%s: title %q, want %q", via, m.Title, tc.title)
				}
				if got := strings.Split(m.Body, "\n"); !slices.Equal(got, tc.body) {
					t.Errorf("%s: body\n%s\nwant\n%s", via, m.Body, strings.Join(tc.body, "\n"))
				}
				if m.Urgency != tc.urgency || m.URL != tc.url || m.Key != n.Key {
					t.Errorf("%s: urgency %s, URL %q, key %q; want %s, %q, %q", via, m.Urgency, m.URL, m.Key, tc.urgency, tc.url, n.Key)
				}
			}
		})
	}
}

// TestRenderFindingsEveryCombination renders every connection and site
// kind (and one this version does not know), with and without detail,
// services, block, alternative, note and page, in every language, and
// checks that nothing is left unfilled, no line is empty, the app is
// named, and only a connection finding says the app will be closed.
func TestRenderFindingsEveryCombination(t *testing.T) {
	t.Parallel()
	details := []string{"", "meet.jit.si", "personal account", "work account", "unknown account", "0a1b2c3d-0000-4000-8000-00000000abcd"}
	var serviceLists [][]string
	for k := range localipc.MaxSiteServices + 2 {
		var l []string
		for i := range k {
			l = append(l, "Service "+strconv.Itoa(i))
		}
		serviceLists = append(serviceLists, l)
	}
	closing := map[string]string{"en": "will be closed", "nl": "afgesloten", "fr": "fermée", "de": "beendet"}
	for _, lang := range Languages {
		var notices []Notice
		for _, k := range append(slices.Clone(policies.ConnectionFindingKinds), "from-the-future") {
			for _, d := range details {
				notices = append(notices, Notice{AppID: "jitsi-meet", AppName: "Jitsi Meet", ConnectionFinding: k, ConnectionDetail: d})
			}
		}
		for _, k := range append(slices.Clone(policies.SiteFindingKinds), "from-the-future") {
			for _, l := range serviceLists {
				notices = append(notices, Notice{AppID: "firefox", AppName: "Firefox", SiteFinding: k, SiteServices: l})
			}
		}
		for _, base := range notices {
			for _, a := range []policies.Action{policies.ActionWarn, policies.ActionBlock, policies.ActionMonitor} {
				for _, extra := range []bool{false, true} {
					n := base
					n.Action, n.Grace = a, 90*time.Second
					if extra {
						n.Alternative, n.Note, n.InfoURL = "nextcloud-talk", policies.PlainNote("Org note."), "https://example.org/i"
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
					if strings.Contains(m.Body, "\n\n") || strings.HasSuffix(m.Body, "\n") {
						t.Fatalf("Render(%+v, %s): empty line in body %q", n, lang, m.Body)
					}
					if !strings.Contains(m.Title, n.AppName) {
						t.Fatalf("Render(%+v, %s): title %q does not name the app", n, lang, m.Title)
					}
					closes := n.ConnectionFinding != "" && a == policies.ActionBlock
					if got := strings.Contains(m.Body, closing[lang]); got != closes {
						t.Fatalf("Render(%+v, %s): says it closes the app: %v, want %v\n%s", n, lang, got, closes, m.Body)
					}
					if want := map[bool]Urgency{false: UrgencyNormal, true: UrgencyCritical}[closes]; m.Urgency != want {
						t.Fatalf("Render(%+v, %s): urgency %s, want %s", n, lang, m.Urgency, want)
					}
					if extra && (!strings.Contains(m.Body, "nextcloud-talk") || !strings.Contains(m.Body, "Org note.") || m.URL != n.InfoURL) {
						t.Fatalf("Render(%+v, %s): alternative, note or page missing:\n%s", n, lang, m.Body)
					}
				}
			}
		}
	}
}
