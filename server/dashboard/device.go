package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
)

// maxRecentEventBytes bounds the stored events the device page loads,
// timelineEvents their number.
const (
	maxRecentEventBytes = 1 << 20
	timelineEvents      = 300
)

func (d *Dashboard) device(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	dev, err := d.svc().Device(r.Context(), r.PathValue("id"))
	if errors.Is(err, admin.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.serverError(w, "device page", err)
		return
	}
	kind, events, ok := d.timelineEvents(w, r, dev.ID, "device page")
	if !ok {
		return
	}
	// The browsers' managed policies as the newest browser_policy event
	// left them.
	browserPolicy := ""
	bp, err := d.svc().LatestEvent(r.Context(), dev.ID, "browser_policy")
	switch {
	case errors.Is(err, admin.ErrNotFound):
	case err != nil:
		d.serverError(w, "device page", err)
		return
	default:
		if ev := decodeEvent(bp.Detail); ev != nil {
			browserPolicy = browserPolicyText(ev.GetBrowserPolicy()) + " (" + bp.Time.UTC().Format(time.RFC3339) + ")"
		}
	}
	notice := ""
	if r.URL.Query().Get("revoked") == "1" && dev.Revoked != nil {
		notice = "The device is revoked: its connection was cut and it can no longer connect or renew its certificate."
	}
	d.render(w, http.StatusOK, "device.html", page{Title: dev.Hostname, Session: s, CSRF: s.CSRF, Refresh: refreshSeconds, Notice: notice,
		Data: map[string]any{"Device": dev, "Stale": d.svc().Now().Sub(dev.LastSeen) >= d.svc().Stale(), "Timeline": filterTimeline(groupTimeline(events.Events, d.svc().AppName), kind),
			"EventsRead": len(events.Events), "Kind": kind, "Kinds": timelineKinds,
			"EventsStored": dev.EventsStored, "BrowserPolicy": browserPolicy}})
}

// revokeDevice revokes a device once the form's confirm box is ticked;
// without it, it asks for confirmation on a page of its own.
func (d *Dashboard) revokeDevice(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	dev, err := d.svc().DeviceRecord(r.Context(), r.PathValue("id"))
	if errors.Is(err, admin.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.serverError(w, "revoke device", err)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		d.render(w, http.StatusOK, "revoke.html", page{Title: "Revoke " + dev.Hostname, Session: s, CSRF: s.CSRF,
			Data: map[string]any{"Device": dev}})
		return
	}
	if dev.Revoked == nil {
		if _, err = d.svc().RevokeDevice(r.Context(), actor(r, s), dev.ID); err != nil {
			d.serverError(w, "revoke device", err)
			return
		}
	}
	http.Redirect(w, r, "/devices/"+url.PathEscape(dev.ID)+"?revoked=1", http.StatusSeeOther)
}

// timelineEvent is an event of the device page, with who was told what
// when it is a notice.
type timelineEvent struct {
	apitypes.Event
	// Told is, for user_notified, the notice and who saw it ("forbidden,
	// warn: displayed in 1 session (de)") or why nobody did ("not
	// displayed: …"); "" for other events.
	Told string
	// Details says in plain words what an app_connection, browser_meeting
	// or browser_policy event reports; "" for other events.
	Details string
	// Flagged is set when the event reports something the policy objects
	// to (a wrong server, a personal account, an unapproved site).
	Flagged bool
}

// timeline turns events into the device page's rows; name gives a catalog
// app's name.
func timeline(evs []apitypes.Event, name func(string) string) []timelineEvent {
	out := make([]timelineEvent, 0, len(evs))
	for _, e := range evs {
		te := timelineEvent{Event: e}
		switch e.Type {
		case "user_notified":
			te.Told = toldText(e.Detail)
		case "app_connection", "browser_meeting", "browser_policy", "app_posture":
			ev := decodeEvent(e.Detail)
			if ev == nil {
				break
			}
			if c := ev.GetAppConnection(); c != nil {
				te.Details, te.Flagged = connectionText(c, name), len(c.GetFindings()) > 0
			}
			if m := ev.GetBrowserMeeting(); m != nil {
				k := policies.SiteFindingKindFromProto(m.GetKind())
				te.Details, te.Flagged = browserMeetingText(m, name), k == policies.SiteUnapproved || k == policies.SiteUnknown
			}
			if p := ev.GetAppPosture(); p != nil {
				te.Details, te.Flagged = postureText(p, name), len(p.GetFindings()) > 0
			}
			if p := ev.GetBrowserPolicy(); p != nil {
				te.Details, te.Flagged = browserPolicyText(p), p.GetError() != "" || len(p.GetSkipped()) > 0
			}
		}
		out = append(out, te)
	}
	return out
}

// toldText says in words what a user_notified event's detail (protobuf
// JSON with proto names) records.
func toldText(detail json.RawMessage) string {
	var d struct {
		UserNotified struct {
			Verdict      string   `json:"verdict"`
			PolicyAction string   `json:"policy_action"`
			Lang         string   `json:"lang"`
			Sessions     uint32   `json:"sessions"`
			Failures     []string `json:"failures"`
			Replayed     bool     `json:"replayed"`
		} `json:"user_notified"`
	}
	if err := json.Unmarshal(detail, &d); err != nil {
		return ""
	}
	n := d.UserNotified
	var b strings.Builder
	what := strings.Trim(strings.ToLower(strings.TrimPrefix(n.Verdict, "VERDICT_"))+", "+strings.ToLower(strings.TrimPrefix(n.PolicyAction, "ACTION_")), ", ")
	if what != "" {
		b.WriteString(what + ": ")
	}
	switch {
	case n.Sessions == 0:
		b.WriteString("not displayed")
	case n.Sessions == 1:
		b.WriteString("displayed in 1 session")
	default:
		fmt.Fprintf(&b, "displayed in %d sessions", n.Sessions)
	}
	if n.Sessions > 0 && n.Lang != "" {
		b.WriteString(" (" + n.Lang + ")")
	}
	if n.Replayed {
		b.WriteString(", shown again to a notifier that started later")
	}
	if len(n.Failures) > 0 {
		if n.Sessions > 0 {
			b.WriteString("; not displayed")
		}
		b.WriteString(": " + strings.Join(n.Failures, "; "))
	}
	return b.String()
}
