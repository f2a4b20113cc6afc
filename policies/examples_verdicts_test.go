package policies_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
)

// Short names for the table below.
const (
	vApproved   = policies.VerdictApproved
	vRestricted = policies.VerdictRestricted
	vForbidden  = policies.VerdictForbidden
	vUnlisted   = policies.VerdictUnlisted
	vUnverified = policies.VerdictUnverified
	aMonitor    = policies.ActionMonitor
	aWarn       = policies.ActionWarn
	aBlock      = policies.ActionBlock
)

// exampleWant is a verdict and the action it brings.
type exampleWant struct {
	verdict policies.Verdict
	action  policies.Action
}

// exampleRow is what an example policy says of one genuine catalog app.
type exampleRow struct {
	app         string
	verdict     policies.Verdict
	action      policies.Action
	alternative string
}

// exampleVerdicts is every catalog app under every example policy (and
// group of one), written out by hand: a change of the catalog or of an
// example that changes what an employee is told, or a catalog app without
// a row, fails TestExamplePoliciesJudgeWholeCatalog and must be reviewed
// here. Unverified is what a look-alike of any catalog app gets.
var exampleVerdicts = []struct {
	example    string
	group      string
	unverified exampleWant
	apps       []exampleRow
}{
	{
		example: "eu-default", group: "",
		unverified: exampleWant{vUnverified, aWarn},
		apps: []exampleRow{
			{"amazon-chime", vForbidden, aWarn, "jitsi-meet"},
			{"baresip", vRestricted, aWarn, ""},
			{"bigbluebutton", vRestricted, aWarn, ""},
			{"blink", vRestricted, aWarn, ""},
			{"bluejeans", vForbidden, aWarn, "jitsi-meet"},
			{"brave", vApproved, aMonitor, ""},
			{"chrome", vApproved, aMonitor, ""},
			{"chromium", vApproved, aMonitor, ""},
			{"dino", vApproved, aMonitor, ""},
			{"discord", vForbidden, aWarn, "jitsi-meet"},
			{"element", vApproved, aMonitor, ""},
			{"facetime", vForbidden, aWarn, "jitsi-meet"},
			{"ferdium", vForbidden, aWarn, "jitsi-meet"},
			{"firefox", vApproved, aMonitor, ""},
			{"franz", vForbidden, aWarn, "jitsi-meet"},
			{"gnome-calls", vRestricted, aWarn, ""},
			{"google-meet", vForbidden, aWarn, "jitsi-meet"},
			{"gotomeeting", vForbidden, aWarn, "jitsi-meet"},
			{"jami", vForbidden, aWarn, ""},
			{"jitsi-meet", vApproved, aMonitor, ""},
			{"lifesize", vForbidden, aWarn, ""},
			{"linphone", vRestricted, aWarn, ""},
			{"mattermost", vRestricted, aWarn, ""},
			{"microsoft-edge", vApproved, aMonitor, ""},
			{"microsoft-teams", vRestricted, aWarn, ""},
			{"microsoft-teams-classic", vForbidden, aWarn, "microsoft-teams"},
			{"mumble", vRestricted, aWarn, ""},
			{"nextcloud-talk", vRestricted, aWarn, ""},
			{"nheko", vApproved, aMonitor, ""},
			{"opera", vApproved, aMonitor, ""},
			{"pexip", vRestricted, aWarn, ""},
			{"pidgin", vRestricted, aWarn, ""},
			{"qtox", vForbidden, aWarn, "jitsi-meet"},
			{"rambox", vForbidden, aWarn, "jitsi-meet"},
			{"ringcentral", vForbidden, aWarn, ""},
			{"rocket-chat", vRestricted, aWarn, ""},
			{"safari", vApproved, aMonitor, ""},
			{"session", vForbidden, aWarn, "jitsi-meet"},
			{"signal", vForbidden, aWarn, "jitsi-meet"},
			{"simplex-chat", vForbidden, aWarn, "jitsi-meet"},
			{"skype", vForbidden, aWarn, "jitsi-meet"},
			{"slack", vForbidden, aWarn, ""},
			{"teams-for-linux", vForbidden, aWarn, ""},
			{"teamviewer", vRestricted, aWarn, ""},
			{"telegram", vForbidden, aWarn, "jitsi-meet"},
			{"tixeo", vRestricted, aWarn, ""},
			{"toxic", vForbidden, aWarn, ""},
			{"twinkle", vRestricted, aWarn, ""},
			{"utox", vForbidden, aWarn, ""},
			{"vesktop", vForbidden, aWarn, "jitsi-meet"},
			{"viber", vForbidden, aWarn, "jitsi-meet"},
			{"vivaldi", vApproved, aMonitor, ""},
			{"webcord", vForbidden, aWarn, "jitsi-meet"},
			{"webex", vRestricted, aWarn, ""},
			{"webex-meetings", vRestricted, aWarn, ""},
			{"whatsapp", vForbidden, aWarn, "jitsi-meet"},
			{"whereby", vForbidden, aWarn, ""},
			{"wire", vRestricted, aWarn, ""},
			{"zapzap", vForbidden, aWarn, "jitsi-meet"},
			{"zoho-meeting", vForbidden, aWarn, ""},
			{"zoom", vRestricted, aWarn, ""},
		},
	},
	{
		example: "monitor-only", group: "",
		unverified: exampleWant{vUnverified, aMonitor},
		apps: []exampleRow{
			{"amazon-chime", vForbidden, aMonitor, ""},
			{"baresip", vUnlisted, aMonitor, ""},
			{"bigbluebutton", vUnlisted, aMonitor, ""},
			{"blink", vUnlisted, aMonitor, ""},
			{"bluejeans", vForbidden, aMonitor, ""},
			{"brave", vUnlisted, aMonitor, ""},
			{"chrome", vUnlisted, aMonitor, ""},
			{"chromium", vUnlisted, aMonitor, ""},
			{"dino", vApproved, aMonitor, ""},
			{"discord", vForbidden, aMonitor, ""},
			{"element", vApproved, aMonitor, ""},
			{"facetime", vForbidden, aMonitor, ""},
			{"ferdium", vUnlisted, aMonitor, ""},
			{"firefox", vUnlisted, aMonitor, ""},
			{"franz", vUnlisted, aMonitor, ""},
			{"gnome-calls", vUnlisted, aMonitor, ""},
			{"google-meet", vForbidden, aMonitor, ""},
			{"gotomeeting", vUnlisted, aMonitor, ""},
			{"jami", vUnlisted, aMonitor, ""},
			{"jitsi-meet", vUnlisted, aMonitor, ""},
			{"lifesize", vUnlisted, aMonitor, ""},
			{"linphone", vUnlisted, aMonitor, ""},
			{"mattermost", vUnlisted, aMonitor, ""},
			{"microsoft-edge", vUnlisted, aMonitor, ""},
			{"microsoft-teams", vUnlisted, aMonitor, ""},
			{"microsoft-teams-classic", vForbidden, aMonitor, ""},
			{"mumble", vUnlisted, aMonitor, ""},
			{"nextcloud-talk", vUnlisted, aMonitor, ""},
			{"nheko", vApproved, aMonitor, ""},
			{"opera", vUnlisted, aMonitor, ""},
			{"pexip", vUnlisted, aMonitor, ""},
			{"pidgin", vUnlisted, aMonitor, ""},
			{"qtox", vForbidden, aMonitor, ""},
			{"rambox", vUnlisted, aMonitor, ""},
			{"ringcentral", vUnlisted, aMonitor, ""},
			{"rocket-chat", vUnlisted, aMonitor, ""},
			{"safari", vUnlisted, aMonitor, ""},
			{"session", vUnlisted, aMonitor, ""},
			{"signal", vForbidden, aMonitor, ""},
			{"simplex-chat", vUnlisted, aMonitor, ""},
			{"skype", vForbidden, aMonitor, ""},
			{"slack", vUnlisted, aMonitor, ""},
			{"teams-for-linux", vUnlisted, aMonitor, ""},
			{"teamviewer", vUnlisted, aMonitor, ""},
			{"telegram", vForbidden, aMonitor, ""},
			{"tixeo", vApproved, aMonitor, ""},
			{"toxic", vUnlisted, aMonitor, ""},
			{"twinkle", vUnlisted, aMonitor, ""},
			{"utox", vUnlisted, aMonitor, ""},
			{"vesktop", vUnlisted, aMonitor, ""},
			{"viber", vForbidden, aMonitor, ""},
			{"vivaldi", vUnlisted, aMonitor, ""},
			{"webcord", vUnlisted, aMonitor, ""},
			{"webex", vUnlisted, aMonitor, ""},
			{"webex-meetings", vUnlisted, aMonitor, ""},
			{"whatsapp", vForbidden, aMonitor, ""},
			{"whereby", vUnlisted, aMonitor, ""},
			{"wire", vApproved, aMonitor, ""},
			{"zapzap", vUnlisted, aMonitor, ""},
			{"zoho-meeting", vUnlisted, aMonitor, ""},
			{"zoom", vUnlisted, aMonitor, ""},
		},
	},
	{
		example: "self-hosted-only", group: "",
		unverified: exampleWant{vUnverified, aBlock},
		apps: []exampleRow{
			{"amazon-chime", vForbidden, aBlock, "jitsi-meet"},
			{"baresip", vApproved, aMonitor, ""},
			{"bigbluebutton", vApproved, aMonitor, ""},
			{"blink", vApproved, aMonitor, ""},
			{"bluejeans", vForbidden, aBlock, "jitsi-meet"},
			{"brave", vRestricted, aMonitor, ""},
			{"chrome", vRestricted, aMonitor, ""},
			{"chromium", vRestricted, aMonitor, ""},
			{"dino", vApproved, aMonitor, ""},
			{"discord", vForbidden, aBlock, "jitsi-meet"},
			{"element", vApproved, aMonitor, ""},
			{"facetime", vForbidden, aBlock, "jitsi-meet"},
			{"ferdium", vForbidden, aBlock, "jitsi-meet"},
			{"firefox", vRestricted, aMonitor, ""},
			{"franz", vForbidden, aBlock, "jitsi-meet"},
			{"gnome-calls", vApproved, aMonitor, ""},
			{"google-meet", vForbidden, aBlock, "jitsi-meet"},
			{"gotomeeting", vForbidden, aBlock, "jitsi-meet"},
			{"jami", vForbidden, aBlock, "jitsi-meet"},
			{"jitsi-meet", vApproved, aMonitor, ""},
			{"lifesize", vForbidden, aBlock, "jitsi-meet"},
			{"linphone", vApproved, aMonitor, ""},
			{"mattermost", vApproved, aMonitor, ""},
			{"microsoft-edge", vRestricted, aMonitor, ""},
			{"microsoft-teams", vForbidden, aBlock, "jitsi-meet"},
			{"microsoft-teams-classic", vForbidden, aBlock, "jitsi-meet"},
			{"mumble", vApproved, aMonitor, ""},
			{"nextcloud-talk", vApproved, aMonitor, ""},
			{"nheko", vApproved, aMonitor, ""},
			{"opera", vRestricted, aMonitor, ""},
			{"pexip", vRestricted, aMonitor, ""},
			{"pidgin", vApproved, aMonitor, ""},
			{"qtox", vForbidden, aBlock, "jitsi-meet"},
			{"rambox", vForbidden, aBlock, "jitsi-meet"},
			{"ringcentral", vForbidden, aBlock, "jitsi-meet"},
			{"rocket-chat", vApproved, aMonitor, ""},
			{"safari", vRestricted, aMonitor, ""},
			{"session", vForbidden, aBlock, "jitsi-meet"},
			{"signal", vForbidden, aBlock, "jitsi-meet"},
			{"simplex-chat", vForbidden, aBlock, "jitsi-meet"},
			{"skype", vForbidden, aBlock, "jitsi-meet"},
			{"slack", vForbidden, aBlock, "jitsi-meet"},
			{"teams-for-linux", vForbidden, aBlock, "jitsi-meet"},
			{"teamviewer", vForbidden, aBlock, "jitsi-meet"},
			{"telegram", vForbidden, aBlock, "jitsi-meet"},
			{"tixeo", vForbidden, aBlock, "jitsi-meet"},
			{"toxic", vForbidden, aBlock, "jitsi-meet"},
			{"twinkle", vApproved, aMonitor, ""},
			{"utox", vForbidden, aBlock, "jitsi-meet"},
			{"vesktop", vForbidden, aBlock, "jitsi-meet"},
			{"viber", vForbidden, aBlock, "jitsi-meet"},
			{"vivaldi", vRestricted, aMonitor, ""},
			{"webcord", vForbidden, aBlock, "jitsi-meet"},
			{"webex", vForbidden, aBlock, "jitsi-meet"},
			{"webex-meetings", vForbidden, aBlock, "jitsi-meet"},
			{"whatsapp", vForbidden, aBlock, "jitsi-meet"},
			{"whereby", vForbidden, aBlock, "jitsi-meet"},
			{"wire", vForbidden, aBlock, "jitsi-meet"},
			{"zapzap", vForbidden, aBlock, "jitsi-meet"},
			{"zoho-meeting", vForbidden, aBlock, "jitsi-meet"},
			{"zoom", vForbidden, aBlock, "jitsi-meet"},
		},
	},
	{
		example: "self-hosted-only", group: "board",
		unverified: exampleWant{vUnverified, aBlock},
		apps: []exampleRow{
			{"amazon-chime", vForbidden, aWarn, "jitsi-meet"},
			{"baresip", vApproved, aMonitor, ""},
			{"bigbluebutton", vApproved, aMonitor, ""},
			{"blink", vApproved, aMonitor, ""},
			{"bluejeans", vForbidden, aWarn, "jitsi-meet"},
			{"brave", vRestricted, aMonitor, ""},
			{"chrome", vRestricted, aMonitor, ""},
			{"chromium", vRestricted, aMonitor, ""},
			{"dino", vApproved, aMonitor, ""},
			{"discord", vForbidden, aWarn, "jitsi-meet"},
			{"element", vApproved, aMonitor, ""},
			{"facetime", vForbidden, aWarn, "jitsi-meet"},
			{"ferdium", vForbidden, aWarn, "jitsi-meet"},
			{"firefox", vRestricted, aMonitor, ""},
			{"franz", vForbidden, aWarn, "jitsi-meet"},
			{"gnome-calls", vApproved, aMonitor, ""},
			{"google-meet", vForbidden, aWarn, "jitsi-meet"},
			{"gotomeeting", vForbidden, aWarn, "jitsi-meet"},
			{"jami", vForbidden, aWarn, "jitsi-meet"},
			{"jitsi-meet", vApproved, aMonitor, ""},
			{"lifesize", vForbidden, aWarn, "jitsi-meet"},
			{"linphone", vApproved, aMonitor, ""},
			{"mattermost", vApproved, aMonitor, ""},
			{"microsoft-edge", vRestricted, aMonitor, ""},
			{"microsoft-teams", vRestricted, aMonitor, ""},
			{"microsoft-teams-classic", vForbidden, aWarn, "jitsi-meet"},
			{"mumble", vApproved, aMonitor, ""},
			{"nextcloud-talk", vApproved, aMonitor, ""},
			{"nheko", vApproved, aMonitor, ""},
			{"opera", vRestricted, aMonitor, ""},
			{"pexip", vRestricted, aMonitor, ""},
			{"pidgin", vApproved, aMonitor, ""},
			{"qtox", vForbidden, aWarn, "jitsi-meet"},
			{"rambox", vForbidden, aWarn, "jitsi-meet"},
			{"ringcentral", vForbidden, aWarn, "jitsi-meet"},
			{"rocket-chat", vApproved, aMonitor, ""},
			{"safari", vRestricted, aMonitor, ""},
			{"session", vForbidden, aWarn, "jitsi-meet"},
			{"signal", vForbidden, aWarn, "jitsi-meet"},
			{"simplex-chat", vForbidden, aWarn, "jitsi-meet"},
			{"skype", vForbidden, aWarn, "jitsi-meet"},
			{"slack", vForbidden, aWarn, "jitsi-meet"},
			{"teams-for-linux", vForbidden, aWarn, "jitsi-meet"},
			{"teamviewer", vForbidden, aWarn, "jitsi-meet"},
			{"telegram", vForbidden, aWarn, "jitsi-meet"},
			{"tixeo", vForbidden, aWarn, "jitsi-meet"},
			{"toxic", vForbidden, aWarn, "jitsi-meet"},
			{"twinkle", vApproved, aMonitor, ""},
			{"utox", vForbidden, aWarn, "jitsi-meet"},
			{"vesktop", vForbidden, aWarn, "jitsi-meet"},
			{"viber", vForbidden, aWarn, "jitsi-meet"},
			{"vivaldi", vRestricted, aMonitor, ""},
			{"webcord", vForbidden, aWarn, "jitsi-meet"},
			{"webex", vForbidden, aWarn, "jitsi-meet"},
			{"webex-meetings", vForbidden, aWarn, "jitsi-meet"},
			{"whatsapp", vForbidden, aWarn, "jitsi-meet"},
			{"whereby", vForbidden, aWarn, "jitsi-meet"},
			{"wire", vForbidden, aWarn, "jitsi-meet"},
			{"zapzap", vForbidden, aWarn, "jitsi-meet"},
			{"zoho-meeting", vForbidden, aWarn, "jitsi-meet"},
			{"zoom", vForbidden, aWarn, "jitsi-meet"},
		},
	},
}

// Every catalog app, genuine and look-alike, gets under every example
// policy the verdict, action and alternative of exampleVerdicts, whether
// judged by Evaluate or by EvaluateStrictest with that policy alone.
func TestExamplePoliciesJudgeWholeCatalog(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tabled := map[string]bool{}
	for _, ex := range exampleVerdicts {
		tabled[ex.example] = true
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".yaml"); !tabled[name] {
			t.Errorf("example %s has no table in exampleVerdicts", name)
		}
	}
	for _, ex := range exampleVerdicts {
		t.Run(ex.example+"/"+ex.group, func(t *testing.T) {
			doc, err := os.ReadFile(filepath.Join("examples", ex.example+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := policies.ParsePolicy(ex.example+".yaml", doc, cat)
			if err != nil {
				t.Fatal(err)
			}
			if ex.group != "" {
				if _, ok := p.Groups[ex.group]; !ok {
					t.Fatalf("the policy has no group %q", ex.group)
				}
			}
			rows := map[string]exampleRow{}
			for _, r := range ex.apps {
				if _, dup := rows[r.app]; dup {
					t.Errorf("%s has two rows", r.app)
				}
				if _, ok := cat.App(r.app); !ok {
					t.Errorf("%s has a row but is not in the catalog", r.app)
				}
				rows[r.app] = r
			}
			for _, app := range cat.Apps() {
				r, ok := rows[app.ID]
				if !ok {
					t.Errorf("catalog app %s has no row: add what %s says of it to exampleVerdicts", app.ID, ex.example)
					continue
				}
				genuine := policies.Detection{AppID: app.ID, Verified: true, Group: ex.group}
				lookalike := policies.Detection{AppID: app.ID, Group: ex.group}
				for _, judge := range []struct {
					name string
					eval func(policies.Detection) policies.Finding
				}{
					{"Evaluate", func(d policies.Detection) policies.Finding { return policies.Evaluate(p, d) }},
					{"EvaluateStrictest", func(d policies.Detection) policies.Finding {
						return policies.EvaluateStrictest([]*policies.Policy{nil, p}, d)
					}},
				} {
					got := judge.eval(genuine)
					if got.Verdict != r.verdict || got.Action != r.action || got.Alternative != r.alternative {
						t.Errorf("%s(%s, genuine %s) = %s/%s alternative %q (from %q); want %s/%s alternative %q",
							judge.name, ex.example, app.ID, got.Verdict, got.Action, got.Alternative, got.From, r.verdict, r.action, r.alternative)
					}
					got = judge.eval(lookalike)
					if got.Verdict != ex.unverified.verdict || got.Action != ex.unverified.action {
						t.Errorf("%s(%s, look-alike of %s) = %s/%s; want %s/%s",
							judge.name, ex.example, app.ID, got.Verdict, got.Action, ex.unverified.verdict, ex.unverified.action)
					}
				}
				// What the policy recommends instead is a tool it allows
				// there.
				if r.alternative != "" {
					alt := policies.Evaluate(p, policies.Detection{AppID: r.alternative, Verified: true, Group: ex.group})
					if !slices.Contains([]policies.Verdict{vApproved, vRestricted}, alt.Verdict) {
						t.Errorf("%s: the alternative to %s, %s, is %s", ex.example, app.ID, r.alternative, alt.Verdict)
					}
				}
			}
		})
	}
}

// What the issue asked of the European default: every consumer tool of
// the catalog is forbidden and warned about, with an approved alternative;
// no meeting tool is left unlisted; and browsers, which start all day, are
// never warned about for starting.
func TestEUDefaultRulesOutConsumerTools(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	doc, err := policies.ExamplePolicy("eu-default")
	if err != nil {
		t.Fatal(err)
	}
	p := mustParse(t, cat, string(doc))
	for _, id := range []string{"whatsapp", "telegram", "signal", "viber", "discord", "facetime", "google-meet", "skype", "microsoft-teams-classic"} {
		f := policies.Evaluate(p, policies.Detection{AppID: id, Verified: true})
		if f.Verdict != vForbidden || f.Action != aWarn || f.Alternative == "" {
			t.Errorf("%s: %s/%s alternative %q; want forbidden, warned, with an alternative", id, f.Verdict, f.Action, f.Alternative)
		}
	}
	for _, app := range cat.Apps() {
		f := policies.Evaluate(p, policies.Detection{AppID: app.ID, Verified: true})
		if f.Verdict == vUnlisted {
			t.Errorf("%s is unlisted", app.ID)
		}
		if app.Category == policies.CategoryBrowser && f.Action != aMonitor {
			t.Errorf("browser %s: %s/%s; want monitored only", app.ID, f.Verdict, f.Action)
		}
	}
	if got := policies.Evaluate(p, policies.Detection{AppID: "not-in-catalog", Verified: true}); got.Verdict != vForbidden || got.From != "default" {
		t.Errorf("a tool nothing names: %+v; want forbidden by the default", got)
	}
}

// The example policies show a rule on every fact the catalog records, so
// an organisation starting from them sees how each criterion of the
// guidance is used.
func TestExamplesUseEveryFact(t *testing.T) {
	cat := embeddedCatalog(t)
	used := map[string]string{}
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		p, err := policies.ParsePolicy(file, data, cat)
		if err != nil {
			t.Fatal(err)
		}
		rules := slices.Clone(p.Rules)
		for _, g := range p.Groups {
			rules = append(rules, g.Rules...)
		}
		for _, r := range rules {
			v := reflect.ValueOf(r.When)
			for i := range v.NumField() {
				name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
				if !v.Field(i).IsZero() {
					used[name] = file
				}
			}
		}
	}
	for _, name := range policies.FactNames {
		if used[name] == "" {
			t.Errorf("no example policy has a rule on facts.%s", name)
		}
	}
}
