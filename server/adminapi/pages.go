package adminapi

import (
	"encoding/json"
	"fmt"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vcguard/vcguard/server/store"
)

// Bounds of the JSON API's lists. Every list takes ?limit= (1 to its
// maximum) and ?cursor= (the next_cursor of the page before) and answers
// {"<items>": [...], "next_cursor": "..."}, next_cursor left out on the
// last page.
const (
	// MaxResponseBytes caps a list response: the page ends before the item
	// that would cross it (a page holds at least one item).
	MaxResponseBytes = 8 << 20
	// MaxEventDetailBytes caps the detail of one event in a list; a larger
	// one is left out (detail null, detail_truncated true).
	MaxEventDetailBytes = 256 << 10
	// DefaultAuditLimit is the audit page size when none is asked for.
	DefaultAuditLimit = 100
)

// pageLimit reads ?limit=: def when absent, else 1 to most.
func pageLimit(q url.Values, def, most int) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, &httpError{http.StatusBadRequest, fmt.Sprintf(
			"limit %q: must be a number from 1 to %d (default %d); page through more with cursor=<next_cursor>", s, most, def)}
	}
	return n, nil
}

// badCursor answers a cursor the server did not hand out.
func badCursor(err error) error {
	return &httpError{http.StatusBadRequest, "cursor: " + err.Error() + "; pass the next_cursor of the previous page, or none for the first"}
}

// encodeCapped encodes items one by one until the next would take the
// total above maxBytes; it returns the encoded items (at least one if
// there is one).
func encodeCapped[T any](items []T, maxBytes int) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(items))
	total := 0
	for _, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return nil, err
		}
		if len(out) > 0 && total+len(b)+1 > maxBytes {
			break
		}
		total += len(b) + 1
		out = append(out, b)
	}
	return out, nil
}

// DeviceSummaryView converts a device of a page.
func (a *API) DeviceSummaryView(d store.DeviceSummary) apitypes.DeviceSummary {
	now := a.Admin.Now()
	out := apitypes.DeviceSummary{
		ID: d.ID, Hostname: d.Hostname, OS: d.OS, OSVersion: d.OSVersion, Arch: d.Arch, AgentVersion: d.AgentVersion,
		Enrolled: d.Enrolled, LastSeen: d.LastSeen, Online: d.Online(now, a.Admin.Stale()), Stale: now.Sub(d.LastSeen) >= a.Admin.Stale(),
		PolicyVersion: d.PolicyVersion, Group: d.Group, RunningApps: d.RunningApps, MediaInUse: d.MediaInUse,
		WorstVerdict: d.WorstVerdict, Running: make([]apitypes.RunningApp, 0, len(d.Running)),
	}
	if !d.Revoked.IsZero() {
		revoked := d.Revoked
		out.Revoked = &revoked
	}
	for _, r := range d.Running {
		out.Running = append(out.Running, apitypes.RunningApp{AppID: r.AppID, Name: r.Name, Verdict: r.Verdict, Instances: r.Instances})
	}
	return out
}

// DeviceQueryFrom reads a device filter and page from a query string:
// q (part of hostname or id), os, group, verdict (of a running app),
// status (online, offline, stale), limit and cursor (forward) or before
// (backward, for the dashboard's previous links).
func (a *API) DeviceQueryFrom(q url.Values) (store.DeviceQuery, error) {
	dq := store.DeviceQuery{Q: strings.TrimSpace(q.Get("q")), OS: q.Get("os"), Group: q.Get("group"), Verdict: q.Get("verdict"),
		Status: q.Get("status"), Now: a.Admin.Now(), StaleAfter: a.Admin.Stale()}
	switch dq.Status {
	case "", "online", "offline", "stale":
	default:
		return dq, &httpError{http.StatusBadRequest, fmt.Sprintf("status %q: want online, offline or stale", dq.Status)}
	}
	var err error
	if dq.Limit, err = pageLimit(q, store.DefaultDeviceLimit, store.MaxDeviceLimit); err != nil {
		return dq, err
	}
	if c := q.Get("cursor"); c != "" {
		k, err := store.ParseDeviceKey(c)
		if err != nil {
			return dq, badCursor(err)
		}
		dq.After = &k
	}
	if c := q.Get("before"); c != "" {
		k, err := store.ParseDeviceKey(c)
		if err != nil {
			return dq, badCursor(err)
		}
		dq.Before, dq.After = &k, nil
	}
	return dq, nil
}

func (a *API) listDevicesPage(w http.ResponseWriter, r *http.Request) error {
	dq, err := a.DeviceQueryFrom(r.URL.Query())
	if err != nil {
		return err
	}
	if dq.Before != nil {
		return &httpError{http.StatusBadRequest, "before: the API pages forward only; pass cursor=<next_cursor>"}
	}
	page, err := a.Admin.Store.ListDevices(r.Context(), dq)
	if err != nil {
		return err
	}
	views := make([]apitypes.DeviceSummary, 0, len(page.Devices))
	for _, d := range page.Devices {
		views = append(views, a.DeviceSummaryView(d))
	}
	enc, err := encodeCapped(views, MaxResponseBytes)
	if err != nil {
		return err
	}
	out := apitypes.DevicePage{Devices: enc}
	if len(enc) < len(views) {
		last := page.Devices[len(enc)-1]
		out.NextCursor = store.DeviceKey{Hostname: last.Hostname, ID: last.ID}.String()
	} else if page.Next != nil {
		out.NextCursor = page.Next.String()
	}
	return writeJSON(w, http.StatusOK, out)
}

// EventFilterFrom reads ?device=&type=&limit=&cursor= of an event list.
func EventFilterFrom(q url.Values) (store.EventFilter, error) {
	f := store.EventFilter{DeviceID: q.Get("device"), Type: q.Get("type")}
	var err error
	if f.Limit, err = pageLimit(q, store.DefaultEventLimit, store.MaxEventLimit); err != nil {
		return f, err
	}
	if c := q.Get("cursor"); c != "" {
		k, err := store.ParseEventKey(c)
		if err != nil {
			return f, badCursor(err)
		}
		f.Before = &k
	}
	return f, nil
}

func (a *API) listEventsPage(w http.ResponseWriter, r *http.Request) error {
	f, err := EventFilterFrom(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := a.Admin.Store.ListEvents(r.Context(), f)
	if err != nil {
		return err
	}
	views := make([]apitypes.Event, 0, len(page.Events))
	for _, e := range page.Events {
		views = append(views, EventView(e))
	}
	enc, err := encodeCapped(views, MaxResponseBytes)
	if err != nil {
		return err
	}
	out := apitypes.EventPage{Events: enc}
	if len(enc) < len(views) {
		last := page.Events[len(enc)-1]
		out.NextCursor = store.EventKey{Time: last.Time, DeviceID: last.DeviceID, Seq: last.Seq}.String()
	} else if page.Next != nil {
		out.NextCursor = page.Next.String()
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) listAuditPage(w http.ResponseWriter, r *http.Request) error {
	f, err := AuditFilterFromQuery(r.URL.Query())
	if err != nil {
		return err
	}
	limit := f.Limit
	f.Limit = limit + 1
	entries, err := a.Admin.Store.AuditLog(r.Context(), f)
	if err != nil {
		return err
	}
	more := len(entries) > limit
	entries = entries[:min(len(entries), limit)]
	views := make([]apitypes.AuditEntry, 0, len(entries))
	for _, e := range entries {
		views = append(views, AuditView(e))
	}
	enc, err := encodeCapped(views, MaxResponseBytes)
	if err != nil {
		return err
	}
	out := apitypes.AuditPage{Entries: enc}
	if len(enc) < len(views) || more {
		out.NextCursor = strconv.FormatInt(entries[len(enc)-1].ID, 10)
	}
	return writeJSON(w, http.StatusOK, out)
}

// StatusCode is the HTTP status the error answers with (the dashboard
// reuses the API's query parsing and its refusals).
func (e *httpError) StatusCode() int { return e.status }
