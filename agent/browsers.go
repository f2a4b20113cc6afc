package agent

// Meetings in the browser. A browser holding the camera or microphone is
// all the device watch can say; the browser's own per-site permissions
// (SiteReader, agent/browsersite) say which sites it lets use them. They
// are judged against the catalog's web domains and the policy's own
// origins (policies.BrowsersInForce.EvaluateSites) and reported as catalog
// services by app id, the organisation's own sites and all others by count
// only: never an address, a title or the history. In enforce mode the
// agent also writes the browsers' managed policies so that only the
// allowed origins may use the camera and microphone (BrowserPolicyWriter,
// agent/browserpolicy), and removes them when the policy stops asking.

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vcguard/vcguard/agent/notify"
	"github.com/vcguard/vcguard/agent/state"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// SiteGrant is one site a browser profile lets use the camera or
// microphone.
type SiteGrant struct {
	// Origin is scheme://host[:port].
	Origin string
	// Modified is when the permission was last set or used; zero when
	// unknown.
	Modified time.Time
	// Subdomains: the grant covers every subdomain of the origin's host
	// too (a Chromium [*.] pattern).
	Subdomains bool
}

// SiteReader reads the camera and microphone permissions of a browser for
// the owner of a process (cmd/vcguard-agent builds it over
// agent/browsersite).
type SiteReader interface {
	ReadSites(ctx context.Context, browserAppID string, pid int32) ([]SiteGrant, error)
}

// BrowserSpec is what the browsers' managed policies must say.
type BrowserSpec struct {
	Origins            []policies.OriginPattern
	BlockScreenCapture bool
}

// BrowserReport is what writing the browsers' policies did.
type BrowserReport struct {
	Written, Unchanged, Removed, Skipped []string
}

// BrowserPolicyWriter writes the browsers' managed camera and microphone
// policies (cmd/vcguard-agent builds it over agent/browserpolicy); a nil
// spec removes everything it wrote.
type BrowserPolicyWriter interface {
	Apply(spec *BrowserSpec) (BrowserReport, error)
}

// freshGrace is how long before a use began a grant still counts as made
// for it: the permission prompt is answered just before the camera opens.
const freshGrace = 2 * time.Minute

// browserSites reads and judges the sites of a browser that began to use
// the camera or microphone, records them and acts on an unapproved or
// unknown site.
func (a *Agent) browserSites(ctx context.Context, now time.Time, u state.Use) {
	if a.cfg.Sites == nil || a.sitesReported[u.Key()] {
		return
	}
	a.sitesReported[u.Key()] = true
	grants, err := a.cfg.Sites.ReadSites(ctx, u.App.ID, u.PID)
	if err != nil {
		a.cfg.Logger.Warn("browser permissions not read", "app", u.App.ID, "pid", u.PID, "err", err)
	}
	rules := policies.BrowserRulesInForce(a.policies(), a.cfg.Group)
	// Grants made for this call, if any, say more than standing ones.
	var fresh []SiteGrant
	for _, g := range grants {
		if !g.Modified.IsZero() && !g.Modified.Before(u.Since.Add(-freshGrace)) {
			fresh = append(fresh, g)
		}
	}
	if len(fresh) > 0 {
		grants = fresh
	}
	subject := policies.SitesSubject{Group: a.cfg.Group}
	seen := map[string]bool{}
	for _, g := range grants {
		o, err := url.Parse(g.Origin)
		if err != nil || o.Hostname() == "" || seen[g.Origin] {
			continue
		}
		seen[g.Origin] = true
		if g.Subdomains {
			if under := a.cfg.Catalog.WebServicesUnder(o.Hostname()); len(under) > 0 {
				for _, app := range under {
					if !slices.Contains(subject.Services, app.ID) {
						subject.Services = append(subject.Services, app.ID)
					}
				}
				continue
			}
		}
		switch app, ok := a.cfg.Catalog.WebService(o.Hostname()); {
		case ok:
			if !slices.Contains(subject.Services, app.ID) {
				subject.Services = append(subject.Services, app.ID)
			}
		case policies.MatchOrigin(strings.ToLower(g.Origin), rules.Origins):
			subject.Own++
		default:
			subject.Others++
		}
	}
	slices.Sort(subject.Services)
	f := rules.EvaluateSites(a.policies(), subject)
	ev := &vcguardv1.BrowserMeeting{Use: mediaProto(u), OwnOrigins: uint32(subject.Own), OtherOrigins: uint32(subject.Others),
		Kind: f.Kind.Proto(), PolicyAction: f.Action.Proto(), Fresh: len(fresh) > 0}
	for _, s := range f.Services {
		ev.Services = append(ev.Services, &vcguardv1.SiteService{AppId: s.AppID, Verdict: s.Verdict.Proto()})
	}
	a.cfg.Logger.Info("browser meeting", "app", u.App.ID, "pid", u.PID, "finding", f.Kind, "services", subject.Services,
		"own", subject.Own, "others", subject.Others, "fresh", len(fresh) > 0)
	a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_BrowserMeeting{BrowserMeeting: ev}})
	if (f.Action != policies.ActionWarn && f.Action != policies.ActionBlock) || a.cfg.Notifier == nil {
		return
	}
	n := notify.Notice{
		Key: siteNoticeKey(u.Key()), AppID: u.App.ID, AppName: u.App.Name, Action: policies.ActionWarn,
		Alternative: f.Alternative, DeviceKind: string(u.Reported()), PID: int(u.PID), SiteFinding: f.Kind,
	}
	for _, s := range f.Services {
		if s.Verdict == policies.VerdictApproved || s.Verdict == policies.VerdictRestricted || s.Verdict == policies.VerdictOutdated {
			continue
		}
		name := s.AppID
		if app, ok := a.cfg.Catalog.App(s.AppID); ok {
			name = app.Name
		}
		n.SiteServices = append(n.SiteServices, name)
	}
	if alt, ok := a.cfg.Catalog.App(f.Alternative); ok {
		n.AlternativeName = alt.Name
	}
	a.cfg.Notifier.Notify(n)
}

func siteNoticeKey(use string) string { return "site/" + use }

// forgetSites drops what was reported of a use that ended.
func (a *Agent) forgetSites(use string) {
	if !a.sitesReported[use] {
		return
	}
	delete(a.sitesReported, use)
	if a.cfg.Notifier != nil {
		a.cfg.Notifier.Clear(siteNoticeKey(use))
	}
}

// applyBrowserPolicy makes the browsers' managed policies say what the
// policies in force ask (enforce), or removes what the agent wrote
// (monitor, or no browsers section), and records it when the outcome
// changed.
func (a *Agent) applyBrowserPolicy(now time.Time) {
	if a.cfg.BrowserPolicy == nil {
		return
	}
	rules := policies.BrowserRulesInForce(a.policies(), a.cfg.Group)
	var spec *BrowserSpec
	mode := ""
	if rules.Mode == policies.BrowserEnforce {
		spec = &BrowserSpec{Origins: rules.Origins, BlockScreenCapture: rules.BlockScreenCapture}
		mode = string(policies.BrowserEnforce)
	}
	rep, err := a.cfg.BrowserPolicy.Apply(spec)
	ev := &vcguardv1.BrowserPolicy{Mode: mode, Written: rep.Written, Unchanged: rep.Unchanged, Removed: rep.Removed, Skipped: rep.Skipped}
	if spec != nil {
		ev.AllowedOrigins = uint32(len(spec.Origins))
	}
	if err != nil {
		ev.Error = err.Error()
		a.cfg.Logger.Error("browser policies not written", "err", err)
	}
	key := browserPolicyKey(ev)
	if key == a.browserPolicyShown && len(rep.Written) == 0 {
		return
	}
	a.browserPolicyShown = key
	a.cfg.Logger.Info("browser policies", "mode", mode, "origins", ev.AllowedOrigins, "written", len(rep.Written), "removed", len(rep.Removed), "skipped", len(rep.Skipped))
	a.emit(now, &vcguardv1.Event{Detail: &vcguardv1.Event_BrowserPolicy{BrowserPolicy: ev}})
}

// browserPolicyKey sums up the state an outcome leaves: the mode, what
// is in place (written or unchanged), what was left alone, the error. An
// outcome is recorded when the state changed, or when anything was
// written (the first time, or again because someone changed or deleted a
// file of the agent's). The agent starts from the empty state's key, so a
// device whose policies never asked for browser policies records nothing.
func browserPolicyKey(ev *vcguardv1.BrowserPolicy) string {
	inPlace := slices.Concat(ev.GetWritten(), ev.GetUnchanged())
	slices.Sort(inPlace)
	return strings.Join([]string{ev.GetMode(), strings.Join(inPlace, ","), strings.Join(ev.GetSkipped(), ","), ev.GetError()}, "|")
}
