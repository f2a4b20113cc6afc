// Package notify tells the person at the keyboard what the agent found and
// what to do about it: it renders a finding as a short localised message
// (English, Dutch, French or German), keeps repeated findings from turning
// into a notification storm, and shows the message with the platform's own
// notifications (D-Bus on Linux, osascript on macOS, toast notifications on
// Windows).
//
// The system service cannot draw in a user's session; the per-user
// notifier process (vcguard-agent notifier) receives notices from it over
// local IPC and uses this package to show them.
package notify

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/vcguard/vcguard/agent/localipc"
	"github.com/vcguard/vcguard/policies"
)

// Notice is one thing to tell the person at the keyboard.
type Notice struct {
	// Key identifies the finding for deduplication: app id, finding kind
	// and instance, set by the caller. Notices with the same key replace
	// each other on screen.
	Key     string
	AppID   string
	AppName string
	// Verdict is forbidden, restricted, unverified, outdated or unlisted.
	Verdict policies.Verdict
	// Action is warn or block.
	Action policies.Action
	// Grace is, for block, the time before the app is closed.
	Grace time.Duration
	// Alternative is the app id the policy recommends instead, and
	// AlternativeName its display name.
	Alternative     string
	AlternativeName string
	// Note is the policy's note: the organisation's own text, shown as is,
	// in the reader's language where the policy gives one per language.
	Note policies.Note
	// InfoURL is a page explaining the decision.
	InfoURL string
	// Version is the detected version and MinVersion the policy's minimum.
	Version, MinVersion string
	// Facts are the catalog facts of the app; nil when unknown.
	Facts *policies.Facts
	// PID is the app's process: the notice goes only to its owner's
	// sessions (Service.Notify). It is not sent to the notifier.
	PID int
	// MediaFinding is set in a notice about a camera, microphone or
	// screen use (the app is then the one holding the device, or none:
	// a process of no catalog app, named by Process). DeviceKind is
	// camera, microphone, screen or output_audio; "" for left_running.
	MediaFinding policies.MediaFindingKind
	DeviceKind   string
	Process      string
	// ConnectionFinding is set in a notice about an approved app's server
	// or account (wrong_server, personal_account); ConnectionDetail is the
	// server host, or the account's domain or tenant, at fault.
	ConnectionFinding policies.ConnectionFindingKind
	ConnectionDetail  string
	// SiteFinding is set in a notice about a browser that holds the camera
	// or microphone (unapproved_site, unknown_site); the app is the
	// browser. SiteServices are the display names of the unapproved
	// meeting services the browser lets use them.
	SiteFinding  policies.SiteFindingKind
	SiteServices []string
	// PostureFinding is set in a notice about an approved app's own
	// settings (updates off, start at login, a local recording, ...);
	// PostureDetail is what was read: a value, "installed X, offered Y",
	// or a recording's file type.
	PostureFinding policies.PostureKind
	PostureDetail  string
	// EmbeddedServices are, in a notice about a multi-service host
	// (policies.CategoryMultiService), the display names of the meeting
	// services it offers: why it is not allowed, when it is not.
	EmbeddedServices []string
}

// Urgency is how insistently a message is shown. The values are those of
// the freedesktop notification specification.
type Urgency uint8

const (
	// UrgencyLow is for information the person may ignore.
	UrgencyLow Urgency = 0
	// UrgencyNormal is for a warning.
	UrgencyNormal Urgency = 1
	// UrgencyCritical is for a warning that needs action now (an app that
	// will be closed); it stays on screen until dismissed.
	UrgencyCritical Urgency = 2
)

// String returns low, normal or critical.
func (u Urgency) String() string {
	switch u {
	case UrgencyLow:
		return "low"
	case UrgencyNormal:
		return "normal"
	case UrgencyCritical:
		return "critical"
	}
	return "urgency(" + strconv.Itoa(int(u)) + ")"
}

// Message is a rendered notice, ready for a Display.
type Message struct {
	// Key is the notice's key: a display replaces the message it showed
	// for the same key instead of adding another.
	Key string
	// Title is one short line; Body is plain text, lines separated by "\n".
	Title, Body string
	// URL is the notice's info URL (http or https only), "" when none.
	// The body shows it too, for displays that cannot open links.
	URL string
	// URLLabel is the localised label of the action that opens URL.
	URLLabel string
	Urgency  Urgency
}

// Length limits for text that does not come from the translation table.
const (
	maxNameLen    = 80
	maxVersionLen = 40
	maxNoteLen    = 500
	maxURLLen     = 500
	// maxDetailLen is a DNS name's limit: a host, login domain or tenant
	// id fits.
	maxDetailLen = 253
)

// Render turns a notice into a message in lang ("en", "nl", "fr" or "de";
// anything else renders English). The message says what was found, why it
// matters (only the catalog facts that count against the app), what to use
// instead, the policy's note (in lang where the policy gives one per
// language, else in English), when the app will be closed (block) and
// where to read more. A notice about a device use, an app's server or
// account, or a browser's sites says what was found of it instead of the
// app's verdict (renderMedia, renderConnection, renderSite).
func Render(n Notice, lang string) Message {
	switch {
	case n.MediaFinding != "":
		return renderMedia(n, lang)
	case n.ConnectionFinding != "":
		return renderConnection(n, lang)
	case n.SiteFinding != "":
		return renderSite(n, lang)
	case n.PostureFinding != "":
		return renderPosture(n, lang)
	}
	tr := translator(lang)
	app := clean(firstNonEmpty(n.AppName, n.AppID, "?"), maxNameLen, false)
	vars := map[string]string{"app": app}

	m := Message{Key: n.Key, Urgency: UrgencyNormal}
	var lines []string
	add := func(s ...string) {
		for _, l := range s {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}

	verdict := n.Verdict
	switch verdict {
	case policies.VerdictForbidden, policies.VerdictRestricted, policies.VerdictUnverified,
		policies.VerdictOutdated, policies.VerdictApproved, policies.VerdictUnlisted:
	default:
		verdict = policies.VerdictUnlisted
	}
	note := clean(n.Note.For(lang), maxNoteLen, true)

	m.Title = tr("title_"+string(verdict), vars)
	switch verdict {
	case policies.VerdictForbidden:
		add(tr("body_forbidden", vars))
	case policies.VerdictUnlisted:
		add(tr("body_unlisted", vars))
	case policies.VerdictRestricted:
		if note != "" {
			add(tr("body_restricted", vars), note)
			note = ""
		} else {
			add(tr("body_restricted_nonote", vars))
		}
	case policies.VerdictUnverified:
		add(tr("body_unverified", vars))
	case policies.VerdictOutdated:
		vars["min"] = clean(firstNonEmpty(n.MinVersion, "?"), maxVersionLen, false)
		if v := clean(n.Version, maxVersionLen, false); v != "" {
			vars["version"] = v
			add(tr("body_outdated", vars))
		} else {
			add(tr("body_outdated_noversion", vars))
		}
	case policies.VerdictApproved:
		m.Urgency = UrgencyLow
		add(tr("body_approved", vars))
	}

	if n.Action == policies.ActionBlock && verdict != policies.VerdictApproved {
		m.Urgency = UrgencyCritical
		add(blockLine(tr, vars, n.Grace))
	}

	// Why it matters: the facts that count against a tool the person
	// should not use, or use with care. For an imitation or an old
	// version the facts of the genuine, current tool are beside the point.
	if verdict == policies.VerdictForbidden || verdict == policies.VerdictUnlisted || verdict == policies.VerdictRestricted {
		if services := embeddedServices(n.EmbeddedServices); len(services) > 0 {
			vars["services"] = joinList(tr, services)
			add(tr("reason_multi_service", vars))
		}
		keys, fv := negativeFacts(n.Facts, lang)
		for _, key := range keys {
			add(tr(key, mergeVars(vars, fv)))
		}
	}

	add(note)

	switch verdict {
	case policies.VerdictForbidden, policies.VerdictUnlisted, policies.VerdictUnverified:
		if n.Alternative != "" || n.AlternativeName != "" {
			vars["alt"] = clean(firstNonEmpty(n.AlternativeName, n.Alternative), maxNameLen, false)
			add(tr("alternative", vars))
		} else if verdict != policies.VerdictUnverified {
			add(tr("use_approved", vars))
		}
	}

	add(m.info(tr, vars, n.InfoURL))
	m.Body = strings.Join(lines, "\n")
	return m
}

// blockLine says when the app will be closed.
func blockLine(tr func(string, map[string]string) string, vars map[string]string, grace time.Duration) string {
	if grace > 0 {
		vars["when"] = duration(tr, grace)
		return tr("block", vars)
	}
	return tr("block_now", vars)
}

// info sets the message's link to the notice's info URL, when it is a web
// page, and returns the line that shows it ("" when none).
func (m *Message) info(tr func(string, map[string]string) string, vars map[string]string, infoURL string) string {
	u := webURL(infoURL)
	if u == "" {
		return ""
	}
	m.URL = u
	m.URLLabel = tr("info_action", vars)
	vars["url"] = u
	return tr("info", vars)
}

// renderMedia renders a notice about a device use: which device, which
// app (or process), what the policy finds, and what to do: close it, use
// an approved tool, end the share. Short and factual.
func renderMedia(n Notice, lang string) Message {
	tr := translator(lang)
	vars := map[string]string{
		"app": clean(firstNonEmpty(n.AppName, n.AppID, n.Process, "?"), maxNameLen, false),
	}
	device := n.DeviceKind
	switch device {
	case "camera", "microphone", "screen", "output_audio":
	default:
		device = "device"
	}
	vars["device"] = tr("device_"+device, vars)
	m := Message{Key: n.Key, Urgency: UrgencyNormal}
	var lines []string
	kind := string(n.MediaFinding)
	switch n.MediaFinding {
	case policies.MediaUnknownApp, policies.MediaForbiddenApp, policies.MediaUnverifiedApp, policies.MediaLeftOn,
		policies.MediaScreenShare, policies.MediaOutputRecording, policies.MediaLeftRunning:
	default:
		kind = "unknown_app"
	}
	m.Title = tr("media_title_"+kind, vars)
	lines = append(lines, tr("media_body_"+kind, vars))
	if n.Action == policies.ActionBlock && n.AppID != "" {
		m.Urgency = UrgencyCritical
		lines = append(lines, blockLine(tr, vars, n.Grace))
	}
	if n.Alternative != "" || n.AlternativeName != "" {
		vars["alt"] = clean(firstNonEmpty(n.AlternativeName, n.Alternative), maxNameLen, false)
		lines = append(lines, tr("alternative", vars))
	}
	if note := clean(n.Note.For(lang), maxNoteLen, true); note != "" {
		lines = append(lines, note)
	}
	m.Body = strings.Join(lines, "\n")
	return m
}

// renderConnection renders a notice about an approved app set up the
// wrong way: the app, what it is set up for (the server, or the account's
// domain or tenant) and that the organisation has not approved it, when
// the app will be closed (block), and what to do: use the organisation's
// server or sign in with the work account, the policy's alternative, its
// note and its page. It states what was found, not who is to blame: an
// app may have come set up that way.
func renderConnection(n Notice, lang string) Message {
	tr := translator(lang)
	vars := map[string]string{"app": clean(firstNonEmpty(n.AppName, n.AppID, "?"), maxNameLen, false)}
	kind := string(n.ConnectionFinding)
	switch n.ConnectionFinding {
	case policies.ConnectionWrongServer, policies.ConnectionPersonalAccount:
	default:
		kind = "other" // a kind this version does not know: say only that the setup is not the required one
	}
	m := Message{Key: n.Key, Urgency: UrgencyNormal}
	m.Title = tr("connection_title_"+kind, vars)
	body := "connection_body_" + kind
	if kind != "other" {
		if d := connectionDetail(tr, n.ConnectionDetail); d != "" {
			vars["detail"] = d
		} else {
			body += "_nodetail"
		}
	}
	lines := []string{tr(body, vars)}
	if n.Action == policies.ActionBlock {
		m.Urgency = UrgencyCritical
		lines = append(lines, blockLine(tr, vars, n.Grace))
	}
	lines = append(lines, tr("connection_todo_"+kind, vars))
	if n.Alternative != "" || n.AlternativeName != "" {
		vars["alt"] = clean(firstNonEmpty(n.AlternativeName, n.Alternative), maxNameLen, false)
		lines = append(lines, tr("alternative", vars))
	}
	if note := clean(n.Note.For(lang), maxNoteLen, true); note != "" {
		lines = append(lines, note)
	}
	if l := m.info(tr, vars, n.InfoURL); l != "" {
		lines = append(lines, l)
	}
	m.Body = strings.Join(lines, "\n")
	return m
}

// renderPosture says what was found of an approved app's own settings and
// what to do about it.
func renderPosture(n Notice, lang string) Message {
	tr := translator(lang)
	vars := map[string]string{"app": clean(firstNonEmpty(n.AppName, n.AppID, "?"), maxNameLen, false)}
	kind := string(n.PostureFinding)
	if !slices.Contains(policies.PostureKinds, n.PostureFinding) {
		kind = "other" // a kind this version does not know
	}
	m := Message{Key: n.Key, Urgency: UrgencyNormal, Title: tr("posture_title_"+kind, vars)}
	body := "posture_body_" + kind
	if d := clean(n.PostureDetail, maxDetailLen, false); d != "" {
		vars["detail"] = d
	} else if n.PostureFinding == policies.PostureRecording {
		body += "_nodetail"
	}
	lines := []string{tr(body, vars), tr("posture_todo_"+kind, vars)}
	if note := clean(n.Note.For(lang), maxNoteLen, true); note != "" {
		lines = append(lines, note)
	}
	if l := m.info(tr, vars, n.InfoURL); l != "" {
		lines = append(lines, l)
	}
	m.Body = strings.Join(lines, "\n")
	return m
}

// connectionDetail returns the server, domain or tenant at fault as
// shown. Package policies names an account that has neither domain nor
// tenant by its kind ("personal account"): a personal one is said in the
// reader's language, the others add nothing the sentence does not say.
func connectionDetail(tr func(string, map[string]string) string, detail string) string {
	d := clean(detail, maxDetailLen, false)
	switch d {
	case string(policies.AccountPersonal) + " account":
		return tr("account_personal", nil)
	case string(policies.AccountWork) + " account", string(policies.AccountUnknown) + " account":
		return ""
	}
	return d
}

// renderSite renders a notice about a browser that holds the camera or
// microphone: the browser, the unapproved meeting services it lets use
// them (or that only sites outside the organisation's list have the
// permission), and what to use instead. It never says the browser will be
// closed: a policy cannot close a browser for its sites.
func renderSite(n Notice, lang string) Message {
	tr := translator(lang)
	vars := map[string]string{"app": clean(firstNonEmpty(n.AppName, n.AppID, "?"), maxNameLen, false)}
	m := Message{Key: n.Key, Urgency: UrgencyNormal}
	var lines []string
	todo := "use_approved"
	switch n.SiteFinding {
	case policies.SiteUnapproved:
		var services []string
		for _, s := range n.SiteServices {
			if s := clean(s, maxNameLen, false); s != "" && len(services) < localipc.MaxSiteServices {
				services = append(services, s)
			}
		}
		form := "_other"
		switch len(services) {
		case 0:
			form = "_none"
		case 1:
			form = "_one"
		}
		vars["services"] = joinList(tr, services)
		m.Title = tr("site_title_unapproved_site"+form, vars)
		lines = append(lines, tr("site_body_unapproved_site"+form, vars))
	default:
		// unknown_site, and a kind this version does not know: the most
		// cautious reading, which names no service.
		m.Title = tr("site_title_unknown_site", vars)
		lines = append(lines, tr("site_body_unknown_site", vars))
		todo = "site_todo_unknown_site"
	}
	if n.Alternative != "" || n.AlternativeName != "" {
		vars["alt"] = clean(firstNonEmpty(n.AlternativeName, n.Alternative), maxNameLen, false)
		todo = "alternative"
	}
	lines = append(lines, tr(todo, vars))
	if note := clean(n.Note.For(lang), maxNoteLen, true); note != "" {
		lines = append(lines, note)
	}
	if l := m.info(tr, vars, n.InfoURL); l != "" {
		lines = append(lines, l)
	}
	m.Body = strings.Join(lines, "\n")
	return m
}

// joinList joins names as a sentence lists them: "A", "A and B",
// "A, B and C".
func joinList(tr func(string, map[string]string) string, names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return tr("list_and", map[string]string{"list": strings.Join(names[:len(names)-1], ", "), "last": names[len(names)-1]})
}

// mergeVars returns a's variables with b's added.
func mergeVars(a, b map[string]string) map[string]string {
	m := make(map[string]string, len(a)+len(b))
	maps.Copy(m, a)
	maps.Copy(m, b)
	return m
}

// duration renders a grace period as "2 minutes" or "30 seconds", rounded
// up to whole minutes from two minutes on.
func duration(tr func(string, map[string]string) string, d time.Duration) string {
	if d < 2*time.Minute && d%time.Minute != 0 {
		s := int((d + time.Second - 1) / time.Second)
		return plural(tr, "seconds", s)
	}
	return plural(tr, "minutes", int((d+time.Minute-1)/time.Minute))
}

func plural(tr func(string, map[string]string) string, unit string, n int) string {
	form := "_other"
	if n == 1 {
		form = "_one"
	}
	return tr(unit+form, map[string]string{"n": strconv.Itoa(n)})
}

// webURL returns u when it is an absolute http or https URL, else "".
func webURL(u string) string {
	u = strings.TrimSpace(u)
	if u == "" || len(u) > maxURLLen {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	for _, r := range u {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return ""
		}
	}
	return u
}

// clean makes text from outside the translation table safe to show: it
// drops control characters (keeping newlines where multiline), trims
// space and cuts it to max runes.
func clean(s string, max int, multiline bool) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			if multiline && r == '\n' {
				break
			}
			r = ' '
		case unicode.IsControl(r), r == unicode.ReplacementChar,
			unicode.Is(unicode.Bidi_Control, r):
			continue
		}
		if n == max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
