package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/agent/enforce"
	"github.com/vcguard/vcguard/agent/notify"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// fakeSetups stands for the app configuration readers (tested against
// real recorded files in agent/appconfig): what each app's configuration
// says, by app id.
type fakeSetups struct {
	setups map[string]Setup
	reads  int
}

func (f *fakeSetups) Knows(id string) bool { _, ok := f.setups[id]; return ok || id == "element" }
func (f *fakeSetups) ReadSetup(_ context.Context, id string, _ int32) (Setup, error) {
	f.reads++
	s, ok := f.setups[id]
	if !ok {
		return Setup{}, ErrNoSetup
	}
	return s, nil
}

func connectionEvents(a *Agent, after *uint64) []string {
	var out []string
	for _, ev := range a.out.Pending(*after, 1000) {
		*after = ev.GetSeq()
		switch d := ev.GetDetail().(type) {
		case *vcguardv1.Event_AppConnection:
			c := d.AppConnection
			var fs []string
			for _, f := range c.GetFindings() {
				fs = append(fs, fmt.Sprintf("%s:%s:%s", policies.ConnectionFindingKindFromProto(f.GetKind()), f.GetDetail(), policies.ActionFromProto(f.GetPolicyAction())))
			}
			var accs []string
			for _, acc := range c.GetAccounts() {
				accs = append(accs, string(policies.AccountKindFromProto(acc.GetKind()))+"/"+acc.GetTenant())
			}
			out = append(out, fmt.Sprintf("connection %s/%d servers=%v accounts=%v findings=%v err=%q", c.GetAppId(), c.GetPid(), c.GetServers(), accs, fs, c.GetError()))
		case *vcguardv1.Event_BrowserMeeting:
			m := d.BrowserMeeting
			var ss []string
			for _, s := range m.GetServices() {
				ss = append(ss, s.GetAppId()+"/"+string(policies.VerdictFromProto(s.GetVerdict())))
			}
			out = append(out, fmt.Sprintf("browser_meeting %s/%d %s services=%v own=%d others=%d fresh=%v %s", m.GetUse().GetAppId(), m.GetUse().GetPid(),
				policies.SiteFindingKindFromProto(m.GetKind()), ss, m.GetOwnOrigins(), m.GetOtherOrigins(), m.GetFresh(), policies.ActionFromProto(m.GetPolicyAction())))
		case *vcguardv1.Event_BrowserPolicy:
			p := d.BrowserPolicy
			out = append(out, fmt.Sprintf("browser_policy mode=%q origins=%d written=%v removed=%v skipped=%v err=%q", p.GetMode(), p.GetAllowedOrigins(), p.GetWritten(), p.GetRemoved(), p.GetSkipped(), p.GetError()))
		}
	}
	return out
}

// An approved app set up for the public server instead of the
// organisation's, or signed in with a personal account, is recorded with
// its finding and the employee told; a policy change judges the setup
// read again; block closes the app.
func TestAppConnections(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	setups := &fakeSetups{setups: map[string]Setup{
		"jitsi-meet":      {Servers: []string{"meet.example.org", "meet.jit.si"}, Source: "Jitsi Meet settings", Session: "uid 1000"},
		"microsoft-teams": {Accounts: []policies.Account{{Kind: policies.AccountPersonal, Tenant: "9188040d-6c67-4c5b-b112-36a304b66dad"}}, Source: "Teams"},
	}}
	ntf := &fakeNotifier{seen: map[string]string{}, delivered: make(chan notify.Delivery, 16)}
	enf := &fakeEnforcer{scheduled: map[procwatch.Key]time.Duration{}, done: map[procwatch.Key]func(enforce.Result){}}
	a.cfg.Setups, a.cfg.Notifier, a.cfg.Enforcer = setups, ntf, enf
	var seq uint64
	doc := `name: Servers
apps:
  jitsi-meet: {status: approved, allowed_servers: [meet.example.org]}
  microsoft-teams: {status: restricted, allowed_accounts: [work]}
  element: {status: approved, allowed_servers: [matrix.example.org]}
  zoom: {status: forbidden}
`
	mustApply(t, a, f.signed(1, []byte(doc)))
	jitsi, teams, element, zoom := proc(100, "jitsi-meet", 1), proc(200, "ms-teams", 2), proc(300, "element-desktop", 3), proc(400, "zoom", 4)
	f.scanner.set(jitsi, teams, element, zoom)
	mustScan(t, a, f.scanner)
	got := connectionEvents(a, &seq)
	// Element has no configuration in the home: nothing to report.
	want := []string{
		`connection jitsi-meet/100 servers=[meet.example.org meet.jit.si] accounts=[] findings=[wrong_server:meet.jit.si:warn] err=""`,
	}
	// Teams' process name in the catalog may differ; find what it is.
	if _, ok := a.matcher.Match("ms-teams"); ok {
		want = slices.Insert(want, 1, `connection microsoft-teams/200 servers=[] accounts=[personal/9188040d-6c67-4c5b-b112-36a304b66dad] findings=[personal_account:9188040d-6c67-4c5b-b112-36a304b66dad:warn] err=""`)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The forbidden zoom's setup is not read: the app itself is the
	// finding.
	if setups.reads != len(want)+1 {
		t.Errorf("%d setups read, want %d (element's too, not zoom's)", setups.reads, len(want)+1)
	}
	var told []string
	for _, n := range ntf.told {
		if n.ConnectionFinding != "" {
			told = append(told, fmt.Sprintf("%s %s %s %s", n.AppID, n.ConnectionFinding, n.ConnectionDetail, n.Action))
		}
	}
	if len(told) == 0 || told[0] != "jitsi-meet wrong_server meet.jit.si warn" {
		t.Errorf("told %q, want the wrong server first", told)
	}

	// The same setup under the same policy is not recorded again; a new
	// policy allowing the public server clears the notice; one that blocks
	// closes the app.
	a.rejudge(time.Now())
	if got := connectionEvents(a, &seq); len(got) != 0 {
		t.Errorf("unchanged setup recorded again: %q", got)
	}
	mustApply(t, a, f.signed(2, []byte(strings.Replace(doc, "allowed_servers: [meet.example.org]", "allowed_servers: [meet.example.org, meet.jit.si]", 1))))
	got = connectionEvents(a, &seq)
	if len(got) != 1 || !strings.Contains(got[0], "jitsi-meet/100") || !strings.Contains(got[0], "findings=[]") {
		t.Errorf("after allowing meet.jit.si: %q", got)
	}
	if !slices.ContainsFunc(ntf.cleared, func(k string) bool {
		return strings.HasPrefix(k, "conn/") && strings.HasSuffix(k, "/wrong_server/meet.jit.si")
	}) {
		t.Errorf("the wrong_server notice was not cleared: %v", ntf.cleared)
	}
	mustApply(t, a, f.signed(3, []byte(doc+"actions: {wrong_server: block, block_grace: 90s}\n")))
	got = connectionEvents(a, &seq)
	if len(got) != 1 || !strings.Contains(got[0], "wrong_server:meet.jit.si:block") {
		t.Errorf("after block: %q", got)
	}
	if g, ok := enf.scheduled[jitsi.Key()]; !ok || g != 90*time.Second {
		t.Errorf("jitsi not scheduled for closing after 90s: %v", enf.scheduled)
	}
	// The app stops: its setup and notices go with it.
	f.scanner.set(teams, element, zoom)
	mustScan(t, a, f.scanner)
	if _, ok := a.setups[jitsi.Key()]; ok {
		t.Error("the stopped instance's setup is kept")
	}
}

type fakeSites struct {
	grants []SiteGrant
	err    error
}

func (f *fakeSites) ReadSites(context.Context, string, int32) ([]SiteGrant, error) {
	return f.grants, f.err
}

// A browser that opens the camera is judged by the sites it lets use it:
// catalog services by id, the organisation's own and other sites by count;
// grants made for the call win over standing ones; an unapproved service
// is told to the employee when the policy says warn.
func TestBrowserMeetings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	parents := map[int32]int32{230: 200}
	a.cfg.Parent = func(pid int32) (int32, error) {
		if p, ok := parents[pid]; ok {
			return p, nil
		}
		return 0, os.ErrNotExist
	}
	sites := &fakeSites{}
	ntf := &fakeNotifier{seen: map[string]string{}, delivered: make(chan notify.Delivery, 16)}
	a.cfg.Sites, a.cfg.Notifier = sites, ntf
	var seq uint64
	doc := `name: Browsers
default: forbidden
apps:
  jitsi-meet: {status: approved}
  google-meet: {status: forbidden, alternative: jitsi-meet}
rules:
  - when: {category: browser}
    status: approved
browsers:
  allowed_origins: [https://bbb.example.org]
  unapproved_site: warn
`
	mustApply(t, a, f.signed(1, []byte(doc)))
	chrome := proc(200, "chrome", 2)
	f.scanner.set(chrome)
	mustScan(t, a, f.scanner)
	connectionEvents(a, &seq)

	meet, _ := f.catalog.App("google-meet")
	jitsi, _ := f.catalog.App("jitsi-meet")
	now := base.Add(time.Hour)
	sites.grants = []SiteGrant{
		{Origin: "https://" + meet.WebDomains[0], Modified: now.Add(-30 * 24 * time.Hour)},
		{Origin: "https://" + jitsi.WebDomains[0], Modified: now.Add(-40 * 24 * time.Hour)},
		{Origin: "https://bbb.example.org", Modified: now.Add(-time.Hour)},
		{Origin: "https://shop.example.com"},
		// A pattern for a parent domain covers the catalog services
		// under it.
		{Origin: "https://" + parentOf(meet.WebDomains[0]), Subdomains: true},
	}
	cam := devices.Use{Kind: devices.Camera, Device: "/dev/video0", PID: 230, Process: "chrome", UID: 1000, Source: devices.SourceV4L2}
	if err := a.handleMedia(t.Context(), []devices.Use{cam}, now); err != nil {
		t.Fatal(err)
	}
	got := connectionEvents(a, &seq)
	want := []string{"browser_meeting chrome/230 unapproved_site services=[google-meet/forbidden jitsi-meet/approved] own=1 others=1 fresh=false warn"}
	if !slices.Equal(got, want) {
		t.Errorf("standing grants:\n got %q\nwant %q", got, want)
	}
	if n := ntf.told[len(ntf.told)-1]; n.SiteFinding != policies.SiteUnapproved || !slices.Equal(n.SiteServices, []string{meet.Name}) || n.AlternativeName != jitsi.Name {
		t.Errorf("told %+v", n)
	}
	// The same use is reported once; when it ends the notice is cleared.
	if err := a.handleMedia(t.Context(), []devices.Use{cam}, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := a.handleMedia(t.Context(), nil, now.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := connectionEvents(a, &seq); len(got) != 0 {
		t.Errorf("reported again: %q", got)
	}
	if !slices.Contains(ntf.cleared, siteNoticeKey(cam.Key())) {
		t.Errorf("site notice not cleared: %v", ntf.cleared)
	}
	// A grant made for this call names the site: the organisation's own.
	later := now.Add(time.Hour)
	sites.grants = append(sites.grants, SiteGrant{Origin: "https://bbb.example.org:443", Modified: later.Add(-30 * time.Second)})
	if err := a.handleMedia(t.Context(), []devices.Use{cam}, later); err != nil {
		t.Fatal(err)
	}
	want = []string{"browser_meeting chrome/230 approved_site services=[] own=1 others=0 fresh=true monitor"}
	if got := connectionEvents(a, &seq); !slices.Equal(got, want) {
		t.Errorf("fresh grant:\n got %q\nwant %q", got, want)
	}
	// Unreadable state: no site, recorded as such.
	if err := a.handleMedia(t.Context(), nil, later.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	sites.grants, sites.err = nil, errors.New("profile not readable")
	if err := a.handleMedia(t.Context(), []devices.Use{cam}, later.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	want = []string{"browser_meeting chrome/230 no_site services=[] own=0 others=0 fresh=false monitor"}
	if got := connectionEvents(a, &seq); !slices.Equal(got, want) {
		t.Errorf("unreadable:\n got %q\nwant %q", got, want)
	}
}

type fakeBrowserPolicy struct {
	specs   []*BrowserSpec
	written bool
}

func (f *fakeBrowserPolicy) Apply(spec *BrowserSpec) (BrowserReport, error) {
	f.specs = append(f.specs, spec)
	switch {
	case spec != nil && !f.written:
		f.written = true
		return BrowserReport{Written: []string{"/etc/chromium/policies/managed/vcguard.json"}}, nil
	case spec != nil:
		return BrowserReport{Unchanged: []string{"/etc/chromium/policies/managed/vcguard.json"}}, nil
	case f.written:
		f.written = false
		return BrowserReport{Removed: []string{"/etc/chromium/policies/managed/vcguard.json"}}, nil
	}
	return BrowserReport{}, nil
}

// enforce writes the browsers' policies with the allowed origins; the
// same outcome is not recorded twice; dropping the section removes them.
func TestBrowserPolicyFollowsThePolicy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	bp := &fakeBrowserPolicy{}
	a.cfg.BrowserPolicy = bp
	var seq uint64
	a.applyBrowserPolicy(time.Now())
	if got := connectionEvents(a, &seq); len(got) != 0 {
		t.Errorf("nothing asked, yet recorded: %q", got)
	}
	doc := "name: B\napps:\n  jitsi-meet: {status: approved}\nbrowsers:\n  media_origins: enforce\n  allowed_origins: [https://bbb.example.org]\n  screen_capture: block\n"
	mustApply(t, a, f.signed(1, []byte(doc)))
	got := connectionEvents(a, &seq)
	jitsi, _ := f.catalog.App("jitsi-meet")
	wantOrigins := len(jitsi.WebDomains) + 1
	want := []string{fmt.Sprintf(`browser_policy mode="enforce" origins=%d written=[/etc/chromium/policies/managed/vcguard.json] removed=[] skipped=[] err=""`, wantOrigins)}
	if !slices.Equal(got, want) {
		t.Errorf("enforce:\n got %q\nwant %q", got, want)
	}
	last := bp.specs[len(bp.specs)-1]
	if last == nil || !last.BlockScreenCapture || !policies.MatchOrigin("https://bbb.example.org", last.Origins) || !policies.MatchOrigin("https://"+jitsi.WebDomains[0], last.Origins) {
		t.Errorf("spec %+v", last)
	}
	mustApply(t, a, f.signed(2, []byte(doc+"description: same browsers\n")))
	if got := connectionEvents(a, &seq); len(got) != 0 {
		t.Errorf("unchanged outcome recorded again: %q", got)
	}
	mustApply(t, a, f.signed(3, []byte("name: B\napps:\n  jitsi-meet: {status: approved}\n")))
	want = []string{`browser_policy mode="" origins=0 written=[] removed=[/etc/chromium/policies/managed/vcguard.json] skipped=[] err=""`}
	if got := connectionEvents(a, &seq); !slices.Equal(got, want) {
		t.Errorf("section dropped:\n got %q\nwant %q", got, want)
	}
}

// parentOf drops the first label of a host (meet.google.com → google.com).
func parentOf(host string) string {
	if _, rest, ok := strings.Cut(host, "."); ok && strings.Contains(rest, ".") {
		return rest
	}
	return host
}
