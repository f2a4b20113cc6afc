package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
)

// maxBulk is the most devices one bulk action changes: a page of the
// devices list at its largest.
const maxBulk = admin.MaxDeviceLimit

// bulkView is the confirmation and the result page of a bulk action.
type bulkView struct {
	// Action is "revoke" or "group"; Group the group to move to.
	Action, Group string
	// Devices are the selected devices that exist; Missing the ids that
	// do not.
	Devices []apitypes.Device
	Missing []string
	// Back is the devices list the selection was made in, BackQuery its
	// query string.
	Back, BackQuery string
	// Done is set on the result page: how many devices changed, and
	// how many were as asked already.
	Done             bool
	Changed, Already int
}

// bulkDevices asks to confirm a bulk revoke or group change of the
// selected devices (form fields id, action, group), and makes it once
// confirm=yes: each device's change is its own audited change through
// the admin service, as on the device page.
func (d *Dashboard) bulkDevices(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	f := r.PostForm
	v := bulkView{Action: f.Get("action"), Group: f.Get("group"), Back: "/devices"}
	if q, err := url.ParseQuery(f.Get("back")); err == nil {
		if view, _, err := parseDeviceView(q, pageLimit); err == nil {
			v.Back += view.Query()
			v.BackQuery = view.values().Encode()
		}
	}
	ids := slices.Compact(slices.Sorted(slices.Values(f["id"])))
	if f.Get("all") == "yes" {
		// Every device the list's filter selects, not just those ticked.
		q, err := url.ParseQuery(f.Get("back"))
		if err != nil {
			d.bulkError(w, s, v, "back: not a query string")
			return
		}
		_, dq, err := parseDeviceView(q, pageLimit)
		if err != nil {
			d.bulkError(w, s, v, err.Error())
			return
		}
		dq.Limit, dq.Cursor, dq.Before = maxBulk, "", ""
		pg, err := d.svc().Devices(r.Context(), dq)
		if errors.Is(err, admin.ErrInvalid) {
			d.bulkError(w, s, v, invalidMessage(err))
			return
		}
		if err != nil {
			d.serverError(w, "bulk action", err)
			return
		}
		if pg.Next != "" {
			d.bulkError(w, s, v, fmt.Sprintf("all: more than %d devices match the filter; narrow it down", maxBulk))
			return
		}
		ids = ids[:0]
		for _, dev := range pg.Devices {
			ids = append(ids, dev.ID)
		}
		slices.Sort(ids)
	}
	switch {
	case len(ids) == 0 || ids[0] == "":
		d.bulkError(w, s, v, "id: select at least one device (tick its box in the list)")
		return
	case len(ids) > maxBulk:
		d.bulkError(w, s, v, fmt.Sprintf("id: %d devices selected; at most %d at once", len(ids), maxBulk))
		return
	}
	switch v.Action {
	case "revoke":
		v.Group = ""
	case "group":
		if err := admin.ValidateGroup(v.Group); err != nil {
			d.bulkError(w, s, v, "group: "+invalidMessage(err))
			return
		}
	default:
		d.bulkError(w, s, v, fmt.Sprintf("action=%q: want revoke or group", v.Action))
		return
	}
	for _, id := range ids {
		dev, err := d.svc().DeviceRecord(r.Context(), id)
		if errors.Is(err, admin.ErrNotFound) {
			v.Missing = append(v.Missing, id)
			continue
		}
		if err != nil {
			d.serverError(w, "bulk action", err)
			return
		}
		v.Devices = append(v.Devices, dev)
	}
	title := "Revoke devices?"
	if v.Action == "group" {
		title = "Move devices to another group?"
	}
	if f.Get("confirm") != "yes" || len(v.Devices) == 0 {
		d.render(w, http.StatusOK, "bulk.html", page{Title: title, Session: s, CSRF: s.CSRF, Data: v})
		return
	}
	by := actor(r, s)
	for i, dev := range v.Devices {
		var err error
		switch {
		case v.Action == "revoke" && dev.Revoked != nil, v.Action == "group" && dev.Group == v.Group:
			v.Already++
			continue
		case v.Action == "revoke":
			got, e := d.svc().RevokeDevice(r.Context(), by, dev.ID)
			if err = e; err == nil {
				v.Devices[i] = d.svc().DeviceView(got)
			}
		default:
			got, e := d.svc().SetDeviceGroup(r.Context(), by, dev.ID, v.Group)
			if err = e; err == nil {
				v.Devices[i] = d.svc().DeviceView(got)
			}
		}
		if errors.Is(err, admin.ErrNotFound) {
			v.Missing = append(v.Missing, dev.ID)
			continue
		}
		if err != nil {
			d.serverError(w, "bulk action", err)
			return
		}
		v.Changed++
	}
	v.Done = true
	notice := fmt.Sprintf("%d devices changed", v.Changed)
	if v.Already > 0 {
		notice += fmt.Sprintf(", %d were so already", v.Already)
	}
	d.render(w, http.StatusOK, "bulk.html", page{Title: title, Session: s, CSRF: s.CSRF, Notice: notice + ".", Data: v})
}

// bulkError answers a form the bulk action cannot use: the message (which
// names the field) on the bulk page, with a link back to the list.
func (d *Dashboard) bulkError(w http.ResponseWriter, s *admin.Session, v bulkView, msg string) {
	v.Action = ""
	d.render(w, http.StatusBadRequest, "bulk.html", page{Title: "Bulk action", Session: s, CSRF: s.CSRF, Error: msg, Data: v})
}
