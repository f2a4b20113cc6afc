package dashboard

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"google.golang.org/protobuf/encoding/protojson"
)

// The "Servers and accounts" page (/apps/connections): per meeting app the
// servers and accounts the devices are set up for, and the calls held in a
// browser over the overview's window; and the plain words the device
// page's timeline uses for app_connection, browser_meeting and
// browser_policy events.

// siteKindWords says in words what a browser meeting's finding kind means.
var siteKindWords = map[string]string{
	string(policies.SiteApproved):   "approved services or the organisation's own sites only",
	string(policies.SiteUnapproved): "a service the policy does not approve",
	string(policies.SiteUnknown):    "only sites outside the catalog and the policy",
	string(policies.SiteNone):       "no site named (a one-time permission, a private window, or a browser whose state cannot be read)",
}

// actionDone says what the agent did under an action, in the past tense.
func actionDone(a string) string {
	switch policies.Action(a) {
	case policies.ActionMonitor:
		return "recorded"
	case policies.ActionWarn:
		return "warned"
	case policies.ActionBlock:
		return "blocked"
	}
	return ""
}

// accountWords names an account: its kind, with its domain or tenant.
func accountWords(kind, domain, tenant string) string {
	what := "an account of unknown kind"
	switch policies.AccountKind(kind) {
	case policies.AccountWork:
		what = "a work account"
	case policies.AccountPersonal:
		what = "a personal account"
	}
	switch {
	case domain != "" && tenant != "":
		return fmt.Sprintf("%s (%s, tenant %s)", what, domain, tenant)
	case domain != "":
		return fmt.Sprintf("%s (%s)", what, domain)
	case tenant != "":
		return fmt.Sprintf("%s (tenant %s)", what, tenant)
	}
	return what
}

// browserMeetingsView is the "Meetings in the browser" section.
type browserMeetingsView struct {
	apitypes.BrowserMeetings
}

// KindWords says a finding kind in words.
func (browserMeetingsView) KindWords(kind string) string {
	if w, ok := siteKindWords[kind]; ok {
		return w
	}
	return kind
}

// Flagged reports whether a finding kind needs IT's attention.
func (browserMeetingsView) Flagged(kind string) bool {
	return kind == string(policies.SiteUnapproved) || kind == string(policies.SiteUnknown)
}

// connectionsView is an app of the page, with its accounts in words.
type connectionsView struct {
	apitypes.AppConnections
}

// AccountWords names an account of the app in words.
func (connectionsView) AccountWords(a apitypes.ConnectionAccount) string {
	return accountWords(a.Kind, a.Domain, a.Tenant)
}

// ActionDone says what the agents did.
func (connectionsView) ActionDone(a string) string { return actionDone(a) }

// Flagged counts the app's wrong servers and personal accounts.
func (c connectionsView) Flagged() int {
	n := 0
	for _, s := range c.Servers {
		if !s.Allowed {
			n++
		}
	}
	for _, a := range c.Accounts {
		if !a.Allowed {
			n++
		}
	}
	return n
}

func (d *Dashboard) connections(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	ctx := r.Context()
	apps, err := d.svc().Connections(ctx)
	if err != nil {
		d.serverError(w, "connections page", err)
		return
	}
	// The overview's window: the chartDays days ending today.
	since := d.svc().Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -(chartDays - 1))
	meetings, err := d.svc().BrowserMeetings(ctx, since)
	if err != nil {
		d.serverError(w, "connections page", err)
		return
	}
	views := make([]connectionsView, 0, len(apps))
	for _, a := range apps {
		views = append(views, connectionsView{a})
	}
	d.render(w, http.StatusOK, "connections.html", page{Title: "Servers and accounts", Session: s, CSRF: s.CSRF, Refresh: refreshSeconds,
		Data: map[string]any{"Apps": views, "Meetings": browserMeetingsView{meetings}, "Days": chartDays,
			"MaxEntries": admin.MaxConnectionEntries}})
}

// decodeEvent reads an event's detail (protobuf JSON with proto names)
// back; nil when it was left out (too large) or cannot be read.
func decodeEvent(detail []byte) *vcguardv1.Event {
	if len(detail) == 0 || string(detail) == "null" {
		return nil
	}
	var e vcguardv1.Event
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(detail, &e); err != nil {
		return nil
	}
	return &e
}

// connectionText says in words what an app_connection event reports:
// "Jitsi Meet (desktop app) set up for meet.jit.si — not allowed (wrong
// server), warned".
func connectionText(c *vcguardv1.AppConnection, name func(string) string) string {
	app := name(c.GetAppId())
	if app == "" {
		app = c.GetAppId()
	}
	if c.GetError() != "" {
		return fmt.Sprintf("%s: nothing could be read: %s", app, c.GetError())
	}
	type finding struct{ kind, action string }
	findings := map[string]finding{}
	for _, f := range c.GetFindings() {
		findings[string(policies.ConnectionFindingKindFromProto(f.GetKind()))+"\x00"+strings.ToLower(f.GetDetail())] = finding{
			string(policies.ConnectionFindingKindFromProto(f.GetKind())), string(policies.ActionFromProto(f.GetPolicyAction()))}
	}
	said := map[string]bool{}
	judged := func(kind, detail, words string) string {
		key := kind + "\x00" + strings.ToLower(detail)
		f, ok := findings[key]
		if !ok {
			return ""
		}
		said[key] = true
		out := " — " + words
		if done := actionDone(f.action); done != "" {
			out += ", " + done
		}
		return out
	}
	var servers, accounts []string
	for _, h := range c.GetServers() {
		servers = append(servers, h+judged(string(policies.ConnectionWrongServer), h, "not allowed (wrong server)"))
	}
	for _, a := range c.GetAccounts() {
		kind := policies.AccountKindFromProto(a.GetKind())
		detail := a.GetDomain()
		if detail == "" {
			detail = a.GetTenant()
		}
		if detail == "" {
			detail = string(kind) + " account"
		}
		accounts = append(accounts, accountWords(string(kind), a.GetDomain(), a.GetTenant())+
			judged(string(policies.ConnectionPersonalAccount), detail, "not the organisation's (personal account)"))
	}
	var parts []string
	if len(servers) > 0 {
		parts = append(parts, app+" set up for "+strings.Join(servers, ", "))
	}
	if len(accounts) > 0 {
		if len(parts) == 0 {
			parts = append(parts, app+" signed in with "+strings.Join(accounts, ", "))
		} else {
			parts = append(parts, "signed in with "+strings.Join(accounts, ", "))
		}
	}
	// Findings about a server or account the event does not list.
	for _, f := range c.GetFindings() {
		kind := string(policies.ConnectionFindingKindFromProto(f.GetKind()))
		if said[kind+"\x00"+strings.ToLower(f.GetDetail())] {
			continue
		}
		words := "not allowed (wrong server)"
		if kind != string(policies.ConnectionWrongServer) {
			words = "not the organisation's (personal account)"
		}
		if done := actionDone(string(policies.ActionFromProto(f.GetPolicyAction()))); done != "" {
			words += ", " + done
		}
		parts = append(parts, f.GetDetail()+" — "+words)
	}
	if len(parts) == 0 {
		return app + ": no server or account found"
	}
	if !strings.HasPrefix(parts[0], app) {
		parts[0] = app + ": " + parts[0]
	}
	out := strings.Join(parts, "; ")
	if c.GetSource() != "" {
		out += " (read from " + c.GetSource() + ")"
	}
	return out
}

// browserMeetingText says in words what a browser_meeting event reports:
// "Google Chrome using the camera: Zoom Workplace (forbidden); 3 other
// sites — a service the policy does not approve, warned".
func browserMeetingText(m *vcguardv1.BrowserMeeting, name func(string) string) string {
	browser := name(m.GetUse().GetAppId())
	if browser == "" {
		browser = cmp.Or(m.GetUse().GetAppId(), m.GetUse().GetProcess(), "a browser")
	}
	kind := m.GetUse().GetKind()
	if kind == "" {
		kind = "camera or microphone"
	}
	out := fmt.Sprintf("%s using the %s", browser, kind)
	var sites []string
	for _, svc := range m.GetServices() {
		n := name(svc.GetAppId())
		if n == "" {
			n = svc.GetAppId()
		}
		sites = append(sites, fmt.Sprintf("%s (%s)", n, policies.VerdictFromProto(svc.GetVerdict())))
	}
	if o := m.GetOwnOrigins(); o > 0 {
		sites = append(sites, plural(int(o), "own site of the organisation", "own sites of the organisation"))
	}
	if o := m.GetOtherOrigins(); o > 0 {
		sites = append(sites, plural(int(o), "other site", "other sites"))
	}
	if len(sites) > 0 {
		out += ": " + strings.Join(sites, ", ")
	}
	k := string(policies.SiteFindingKindFromProto(m.GetKind()))
	if w, ok := siteKindWords[k]; ok {
		out += " — " + w
	}
	if done := actionDone(string(policies.ActionFromProto(m.GetPolicyAction()))); done != "" {
		out += ", " + done
	}
	if m.GetFresh() {
		out += "; permission given during this call"
	}
	return out
}

// browserPolicyText says in words what a browser_policy event reports:
// "enforced: 3 origins may use the camera and microphone; 2 written, 1
// unchanged; skipped: …".
func browserPolicyText(p *vcguardv1.BrowserPolicy) string {
	var b strings.Builder
	if p.GetMode() == "" {
		b.WriteString("none asked for: the browsers' managed policies removed")
	} else {
		fmt.Fprintf(&b, "%s: %s may use the camera and microphone", p.GetMode(), plural(int(p.GetAllowedOrigins()), "origin", "origins"))
	}
	var counts []string
	for _, c := range []struct {
		n    int
		what string
	}{{len(p.GetWritten()), "written"}, {len(p.GetUnchanged()), "unchanged"}, {len(p.GetRemoved()), "removed"}} {
		if c.n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if len(counts) > 0 {
		b.WriteString("; " + strings.Join(counts, ", "))
	}
	if len(p.GetSkipped()) > 0 {
		b.WriteString("; skipped: " + strings.Join(p.GetSkipped(), "; "))
	}
	if p.GetError() != "" {
		b.WriteString("; failed: " + p.GetError())
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
