package dashboard

import (
	"errors"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"net/http"
	"net/url"

	"github.com/vcguard/vcguard/server/adminapi"
	"github.com/vcguard/vcguard/server/store"
)

func (d *Dashboard) device(w http.ResponseWriter, r *http.Request, s *store.Session) {
	dev, err := d.API.Admin.Store.Device(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.serverError(w, "device page", err)
		return
	}
	// The newest events, at most maxRecentEvents and 1 MiB of them.
	events, err := d.API.Admin.Store.Events(r.Context(), store.EventFilter{DeviceID: dev.ID, Limit: maxRecentEvents, MaxBytes: 1 << 20})
	if err != nil {
		d.serverError(w, "device page", err)
		return
	}
	stored, err := d.API.Admin.Store.EventCount(r.Context(), dev.ID)
	if err != nil {
		d.serverError(w, "device page", err)
		return
	}
	evs := make([]apitypes.Event, 0, len(events))
	for _, e := range events {
		evs = append(evs, adminapi.EventView(e))
	}
	notice := ""
	if r.URL.Query().Get("revoked") == "1" && !dev.Revoked.IsZero() {
		notice = "The device is revoked: its connection was cut and it can no longer connect or renew its certificate."
	}
	d.render(w, http.StatusOK, "device.html", page{Title: dev.Hostname, Session: s, CSRF: s.CSRF, Refresh: refreshSeconds, Notice: notice,
		Data: map[string]any{"Device": d.API.DeviceView(dev), "Stale": d.now().Sub(dev.LastSeen) >= d.staleAfter(), "Events": evs, "EventsStored": stored}})
}

// revokeDevice revokes a device once the form's confirm box is ticked;
// without it, it asks for confirmation on a page of its own.
func (d *Dashboard) revokeDevice(w http.ResponseWriter, r *http.Request, s *store.Session) {
	dev, err := d.API.Admin.Store.DeviceRecord(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.serverError(w, "revoke device", err)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		d.render(w, http.StatusOK, "revoke.html", page{Title: "Revoke " + dev.Hostname, Session: s, CSRF: s.CSRF,
			Data: map[string]any{"Device": d.API.DeviceView(dev)}})
		return
	}
	if dev.Revoked.IsZero() {
		if dev, err = d.API.Admin.RevokeDevice(r.Context(), actor(r, s), dev.ID); err != nil {
			d.serverError(w, "revoke device", err)
			return
		}
	}
	http.Redirect(w, r, "/devices/"+url.PathEscape(dev.ID)+"?revoked=1", http.StatusSeeOther)
}
