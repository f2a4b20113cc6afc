package dashboard

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/vcguard/vcguard/server/admin"
)

// maxRecentEventBytes bounds the stored events the device page loads.
const maxRecentEventBytes = 1 << 20

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
	// The newest events, at most maxRecentEvents and 1 MiB of them.
	events, err := d.svc().Events(r.Context(), admin.EventQuery{DeviceID: dev.ID, Limit: maxRecentEvents, MaxBytes: maxRecentEventBytes})
	if err != nil {
		d.serverError(w, "device page", err)
		return
	}
	notice := ""
	if r.URL.Query().Get("revoked") == "1" && dev.Revoked != nil {
		notice = "The device is revoked: its connection was cut and it can no longer connect or renew its certificate."
	}
	d.render(w, http.StatusOK, "device.html", page{Title: dev.Hostname, Session: s, CSRF: s.CSRF, Refresh: refreshSeconds, Notice: notice,
		Data: map[string]any{"Device": dev, "Stale": d.svc().Now().Sub(dev.LastSeen) >= d.svc().Stale(), "Events": events.Events,
			"EventsStored": dev.EventsStored}})
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
