package adminapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
)

// Bounds of the JSON API's lists. Every list takes ?limit= (1 to its
// maximum, which the admin service sets) and ?cursor= (the next_cursor of
// the page before) and answers {"<items>": [...], "next_cursor": "..."},
// next_cursor left out on the last page.
const (
	// MaxResponseBytes caps a list response: the page ends before the item
	// that would cross it (a page holds at least one item).
	MaxResponseBytes = 8 << 20
	// MaxEventDetailBytes caps the detail of one event in a list; a larger
	// one is left out (detail null, detail_truncated true).
	MaxEventDetailBytes = admin.MaxEventDetailBytes
	// DefaultAuditLimit is the audit page size when none is asked for.
	DefaultAuditLimit = admin.DefaultAuditLimit
)

// pageLimit reads ?limit=: 0 (the admin service's default) when absent,
// else a number from 1; the admin service refuses one above most.
func pageLimit(q url.Values, def, most int) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, &httpError{http.StatusBadRequest, fmt.Sprintf(
			"limit %q: must be a number from 1 to %d (default %d); page through more with cursor=<next_cursor>", s, most, def)}
	}
	return n, nil
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

// DeviceQueryFrom reads a device filter and page from a query string:
// q (part of hostname or id), os, group, verdict (of a running app),
// status (online, offline, stale), limit and cursor (forward) or before
// (backward, for the dashboard's previous links). The admin service
// checks the values.
func DeviceQueryFrom(q url.Values) (admin.DeviceQuery, error) {
	dq := admin.DeviceQuery{Q: q.Get("q"), OS: q.Get("os"), Group: q.Get("group"), Verdict: q.Get("verdict"), App: q.Get("app"),
		Status: q.Get("status"), Sort: q.Get("sort"), Cursor: q.Get("cursor"), Before: q.Get("before")}
	var err error
	if dq.SeenWithin, dq.NotSeenFor, err = admin.ParseSeen(q.Get("seen")); err != nil {
		return dq, err
	}
	if err := admin.ValidDeviceSort(dq.Sort); err != nil {
		return dq, fmt.Errorf("%w: sort %q: want one of %s, with a leading - for descending", admin.ErrInvalid, dq.Sort, strings.Join(admin.DeviceSortKeys, ", "))
	}
	dq.Limit, err = pageLimit(q, admin.DefaultDeviceLimit, admin.MaxDeviceLimit)
	return dq, err
}

func (a *API) listDevicesPage(w http.ResponseWriter, r *http.Request) error {
	dq, err := DeviceQueryFrom(r.URL.Query())
	if err != nil {
		return err
	}
	if dq.Before != "" {
		return &httpError{http.StatusBadRequest, "before: the API pages forward only; pass cursor=<next_cursor>"}
	}
	page, err := a.Admin.Devices(r.Context(), dq)
	if err != nil {
		return err
	}
	enc, err := encodeCapped(page.Devices, MaxResponseBytes)
	if err != nil {
		return err
	}
	out := apitypes.DevicePage{Devices: enc, NextCursor: page.Next}
	if len(enc) < len(page.Devices) {
		out.NextCursor = admin.DeviceCursor(page.Devices[len(enc)-1])
	}
	return writeJSON(w, http.StatusOK, out)
}

// EventQueryFrom reads ?device=&type=&limit=&cursor= of an event list.
func EventQueryFrom(q url.Values) (admin.EventQuery, error) {
	f := admin.EventQuery{DeviceID: q.Get("device"), Type: q.Get("type"), Cursor: q.Get("cursor")}
	var err error
	f.Limit, err = pageLimit(q, admin.DefaultEventLimit, admin.MaxEventLimit)
	return f, err
}

func (a *API) listEventsPage(w http.ResponseWriter, r *http.Request) error {
	f, err := EventQueryFrom(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := a.Admin.Events(r.Context(), f)
	if err != nil {
		return err
	}
	enc, err := encodeCapped(page.Events, MaxResponseBytes)
	if err != nil {
		return err
	}
	out := apitypes.EventPage{Events: enc, NextCursor: page.Next}
	if len(enc) < len(page.Events) {
		out.NextCursor = admin.EventCursor(page.Events[len(enc)-1])
	}
	return writeJSON(w, http.StatusOK, out)
}

// AuditQueryFrom reads ?actor=&action=&limit=&cursor= (limit 1 to 1000,
// default 100; cursor is the next_cursor of the page before, the id below
// which to go on; before= is its older name).
func AuditQueryFrom(q url.Values) (admin.AuditQuery, error) {
	f := admin.AuditQuery{Actor: q.Get("actor"), Action: q.Get("action")}
	for _, name := range []string{"before", "cursor"} {
		s := q.Get(name)
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return f, &httpError{http.StatusBadRequest, name + " " + strconv.Quote(s) + ": must be the next_cursor of the previous page (an audit entry id)"}
		}
		f.Before = n
	}
	var err error
	f.Limit, err = pageLimit(q, admin.DefaultAuditLimit, admin.MaxAuditLimit)
	return f, err
}

func (a *API) listAuditPage(w http.ResponseWriter, r *http.Request) error {
	f, err := AuditQueryFrom(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := a.Admin.AuditLog(r.Context(), f)
	if err != nil {
		return err
	}
	enc, err := encodeCapped(page.Entries, MaxResponseBytes)
	if err != nil {
		return err
	}
	out := apitypes.AuditPage{Entries: enc}
	if len(enc) < len(page.Entries) || page.Next != 0 {
		out.NextCursor = strconv.FormatInt(page.Entries[len(enc)-1].ID, 10)
	}
	return writeJSON(w, http.StatusOK, out)
}

// StatusCode is the HTTP status the error answers with (the dashboard
// reuses the API's query parsing and its refusals).
func (e *httpError) StatusCode() int { return e.status }
