package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/store"
)

// The reads of the admin service: what the JSON API and the dashboard
// show, in the forms of package apitypes, with one set of limits. Every
// list is bounded: a page of at most its maximum (the default when the
// limit is 0), continued with the cursor handed out with the page before.

// Bounds of the lists.
const (
	// DefaultDeviceLimit and MaxDeviceLimit bound a page of devices.
	DefaultDeviceLimit = store.DefaultDeviceLimit
	MaxDeviceLimit     = store.MaxDeviceLimit
	// DefaultEventLimit and MaxEventLimit bound a page of events.
	DefaultEventLimit = store.DefaultEventLimit
	MaxEventLimit     = store.MaxEventLimit
	// MaxEventBytes bounds the stored event payloads one page loads.
	MaxEventBytes = store.DefaultEventBytes
	// DefaultAuditLimit and MaxAuditLimit bound a page of the audit log.
	DefaultAuditLimit = 100
	MaxAuditLimit     = store.MaxAuditLimit
	// MaxRunningSummary is how many distinct running apps a device
	// summary names (RunningApps counts them all).
	MaxRunningSummary = store.MaxRunningSummary
	// MaxMediaUses bounds UnapprovedMedia.
	MaxMediaUses = 1000
	// MaxEventsCounted bounds the app starts and camera and microphone
	// events Detections reads.
	MaxEventsCounted = 200000
)

// pageLimit checks a page size: 0 is def, else 1 to most.
func pageLimit(n, def, most int) (int, error) {
	if n == 0 {
		return def, nil
	}
	if n < 1 || n > most {
		return 0, fmt.Errorf("%w: limit %d: must be a number from 1 to %d (default %d); page through more with cursor=<next_cursor>",
			ErrInvalid, n, most, def)
	}
	return n, nil
}

// errOtherOrder is a cursor of the device list in another sort order.
var errOtherOrder = errors.New("a cursor of another sort order: start again from the first page")

// badCursor refuses a cursor this server did not hand out.
func badCursor(name string, err error) error {
	return fmt.Errorf("%w: %s: %w; pass the next_cursor of the previous page, or none for the first", ErrInvalid, name, err)
}

// DeviceQuery selects a page of devices; zero fields match everything.
type DeviceQuery struct {
	// Q matches part of the hostname or id, ignoring case.
	Q, OS, Group string
	// Verdict selects devices running an app with this verdict; App
	// devices running this app (with Verdict: an instance of it with that
	// verdict).
	Verdict, App string
	// Status is "online", "offline", "stale" or "" (any).
	Status string
	// SeenWithin selects devices heard from within it; NotSeenFor those
	// silent for at least it (0: no bound).
	SeenWithin, NotSeenFor time.Duration
	// Sort is the order: "" (by hostname) or one of store.DeviceSortKeys,
	// with a leading "-" for descending.
	Sort string
	// Limit is the page size: 0 for DefaultDeviceLimit, at most
	// MaxDeviceLimit.
	Limit int
	// Cursor starts the page after a page's Next; Before ends it before
	// a page's Prev (the page before). Before wins when both are set.
	Cursor, Before string
}

// SeenRule says what a "last seen" filter value may be.
const SeenRule = "want within-N or over-N, N a number of hours (24h) or days (7d)"

// ParseSeen reads a "last seen" filter: within-N (heard from within N) or
// over-N (silent for at least N), N a whole number of hours "h" or days
// "d", up to 10 years; "" is no bound.
func ParseSeen(s string) (within, over time.Duration, err error) {
	if s == "" {
		return 0, 0, nil
	}
	bad := fmt.Errorf("%w: seen %q: %s", ErrInvalid, s, SeenRule)
	dir, n, ok := strings.Cut(s, "-")
	if !ok || len(n) < 2 {
		return 0, 0, bad
	}
	unit := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour}[n[len(n)-1]]
	v, err := strconv.Atoi(n[:len(n)-1])
	if unit == 0 || err != nil || v < 1 || time.Duration(v)*unit > 10*365*24*time.Hour {
		return 0, 0, bad
	}
	d := time.Duration(v) * unit
	switch dir {
	case "within":
		return d, 0, nil
	case "over":
		return 0, d, nil
	}
	return 0, 0, bad
}

// DevicePage is a page of devices ordered by hostname and id.
type DevicePage struct {
	Devices []apitypes.DeviceSummary
	// Next is the Cursor of the following page, "" on the last; Prev the
	// Before of the previous page, "" on the first.
	Next, Prev string
}

// Verdicts are the verdicts a device filter accepts.
var Verdicts = []string{string(policies.VerdictApproved), string(policies.VerdictRestricted), string(policies.VerdictForbidden),
	string(policies.VerdictUnverified), string(policies.VerdictOutdated), string(policies.VerdictUnlisted)}

// DeviceCursor is the Cursor of the page after device d, for a page cut
// short (the JSON API ends a page at its byte budget).
func DeviceCursor(d apitypes.DeviceSummary) string {
	return store.DeviceKey{Hostname: d.Hostname, ID: d.ID}.String()
}

func (s *Service) deviceQuery(q DeviceQuery) (store.DeviceQuery, error) {
	dq := store.DeviceQuery{Q: strings.TrimSpace(q.Q), OS: q.OS, Group: q.Group, Verdict: q.Verdict, App: q.App, Status: q.Status,
		Now: s.Now(), StaleAfter: s.Stale()}
	switch dq.Status {
	case "", "online", "offline", "stale":
	default:
		return dq, fmt.Errorf("%w: status %q: want online, offline or stale", ErrInvalid, dq.Status)
	}
	if q.Verdict != "" && !slices.Contains(Verdicts, q.Verdict) {
		return dq, fmt.Errorf("%w: verdict %q: want one of %s", ErrInvalid, q.Verdict, strings.Join(Verdicts, ", "))
	}
	if q.SeenWithin < 0 || q.NotSeenFor < 0 {
		return dq, fmt.Errorf("%w: last seen: a duration cannot be negative", ErrInvalid)
	}
	if q.SeenWithin > 0 {
		dq.SeenSince = dq.Now.Add(-q.SeenWithin)
	}
	if q.NotSeenFor > 0 {
		dq.SeenBefore = dq.Now.Add(-q.NotSeenFor)
	}
	var err error
	if dq.Sort, err = store.ParseDeviceSort(q.Sort); err != nil {
		return dq, fmt.Errorf("%w: sort %w", ErrInvalid, err)
	}
	if dq.Limit, err = pageLimit(q.Limit, DefaultDeviceLimit, MaxDeviceLimit); err != nil {
		return dq, err
	}
	if q.Before != "" {
		k, err := store.ParseDeviceKey(q.Before)
		if err != nil {
			return dq, badCursor("before", err)
		}
		if k.Sort != dq.Sort.String() {
			return dq, badCursor("before", errOtherOrder)
		}
		dq.Before = &k
	} else if q.Cursor != "" {
		k, err := store.ParseDeviceKey(q.Cursor)
		if err != nil {
			return dq, badCursor("cursor", err)
		}
		if k.Sort != dq.Sort.String() {
			return dq, badCursor("cursor", errOtherOrder)
		}
		dq.After = &k
	}
	return dq, nil
}

// Devices reads one page of devices, as summaries without their app and
// media rows.
func (s *Service) Devices(ctx context.Context, q DeviceQuery) (DevicePage, error) {
	dq, err := s.deviceQuery(q)
	if err != nil {
		return DevicePage{}, err
	}
	page, err := s.Store.ListDevices(ctx, dq)
	if err != nil {
		return DevicePage{}, err
	}
	out := DevicePage{Devices: make([]apitypes.DeviceSummary, 0, len(page.Devices))}
	for _, d := range page.Devices {
		out.Devices = append(out.Devices, s.DeviceSummaryView(d))
	}
	if page.Next != nil {
		out.Next = page.Next.String()
	}
	if page.Prev != nil {
		out.Prev = page.Prev.String()
	}
	return out, nil
}

// CountDevices counts the devices q's filter selects, on any page.
func (s *Service) CountDevices(ctx context.Context, q DeviceQuery) (int, error) {
	q.Limit, q.Cursor, q.Before = 0, "", ""
	dq, err := s.deviceQuery(q)
	if err != nil {
		return 0, err
	}
	return s.Store.CountDevices(ctx, dq)
}

// Device reads one device with its apps and media (capped, the totals
// counted) and its number of stored events.
func (s *Service) Device(ctx context.Context, id string) (apitypes.Device, error) {
	d, err := s.Store.Device(ctx, id)
	if err != nil {
		return apitypes.Device{}, err
	}
	out := s.DeviceView(d)
	if out.EventsStored, err = s.Store.EventCount(ctx, id); err != nil {
		return apitypes.Device{}, err
	}
	return out, nil
}

// DeviceRecord reads one device's record only: no apps, media or event
// count.
func (s *Service) DeviceRecord(ctx context.Context, id string) (apitypes.Device, error) {
	d, err := s.Store.DeviceRecord(ctx, id)
	if err != nil {
		return apitypes.Device{}, err
	}
	return s.DeviceView(d), nil
}

// FleetCounts are the fleet's headline numbers.
type FleetCounts = store.FleetCounts

// CountFleet counts the devices, online, stale and compliant now.
func (s *Service) CountFleet(ctx context.Context) (FleetCounts, error) {
	return s.Store.CountFleet(ctx, s.Now(), s.Stale())
}

// DeviceFacets are the values a device filter offers.
type DeviceFacets = store.DeviceFacets

// Facets lists the fleet's operating systems and groups (at most 200 of
// each).
func (s *Service) Facets(ctx context.Context) (DeviceFacets, error) {
	return s.Store.Facets(ctx)
}

// AppInventory is one catalog tool across the fleet.
type AppInventory = store.AppInventory

// Inventory aggregates the apps of every device, by app (at most
// store.MaxInventoryApps, those on most devices first).
func (s *Service) Inventory(ctx context.Context) ([]AppInventory, error) {
	return s.Store.Inventory(ctx)
}

// EventQuery selects a page of events, newest first.
type EventQuery struct {
	DeviceID string // "": every device
	Type     string // "": every type
	// Limit is the page size: 0 for DefaultEventLimit, at most
	// MaxEventLimit.
	Limit int
	// Cursor starts the page after a page's Next.
	Cursor string
	// MaxBytes caps the stored payloads the page loads: 0 for
	// MaxEventBytes, at most that.
	MaxBytes int
}

// EventPage is a page of events, newest first.
type EventPage struct {
	Events []apitypes.Event
	// Next is the Cursor of the following (older) page; "" on the last.
	Next string
}

// EventCursor is the Cursor of the page after event e, for a page cut
// short.
func EventCursor(e apitypes.Event) string {
	return store.EventKey{Time: e.Time, DeviceID: e.DeviceID, Seq: e.Seq}.String()
}

// Events reads one page of events.
func (s *Service) Events(ctx context.Context, q EventQuery) (EventPage, error) {
	f := store.EventFilter{DeviceID: q.DeviceID, Type: q.Type, MaxBytes: min(max(q.MaxBytes, 0), MaxEventBytes)}
	if q.Type != "" && !slices.Contains(vcguardv1.EventTypes(), q.Type) {
		return EventPage{}, fmt.Errorf("%w: type %q is not an event type; the types are %s", ErrInvalid, q.Type, strings.Join(vcguardv1.EventTypes(), ", "))
	}
	var err error
	if f.Limit, err = pageLimit(q.Limit, DefaultEventLimit, MaxEventLimit); err != nil {
		return EventPage{}, err
	}
	if q.Cursor != "" {
		k, err := store.ParseEventKey(q.Cursor)
		if err != nil {
			return EventPage{}, badCursor("cursor", err)
		}
		f.Before = &k
	}
	page, err := s.Store.ListEvents(ctx, f)
	if err != nil {
		return EventPage{}, err
	}
	out := EventPage{Events: make([]apitypes.Event, 0, len(page.Events))}
	for _, e := range page.Events {
		out.Events = append(out.Events, EventView(e))
	}
	if page.Next != nil {
		out.Next = page.Next.String()
	}
	return out, nil
}

// Detections returns when something needing IT's attention happened, at or
// after since, oldest first: what the overview's chart counts. They are
//   - starts of apps judged forbidden, unverified or outdated;
//   - starts of unlisted apps other than browsers (catalog category
//     meeting, or an app this server's catalog does not know);
//   - browsers taking a camera or microphone (a call in the browser): once
//     per browser and device while any of its processes holds one, so a
//     call that opens the camera and the microphone counts once.
//
// A browser merely starting is not counted unless its verdict is one of
// the first three: browsers start all day. Approved and restricted apps
// are not counted. A camera or microphone taken before since is not
// known, so a call that began before since counts at its first take
// after. It reads at most MaxEventsCounted events and holds none of them.
func (s *Service) Detections(ctx context.Context, since time.Time) ([]time.Time, error) {
	type useKey struct {
		device, kind, source, path string
		pid                        int32
	}
	type browserKey struct{ device, app string }
	uses := map[useKey]browserKey{} // the browsers' camera and microphone uses that are on
	held := map[browserKey]int{}    // how many uses each browser holds
	var out []time.Time
	types := []string{"app_started", "camera_on", "camera_off", "microphone_on", "microphone_off"}
	err := s.Store.EachEventOfTypesSince(ctx, types, since, MaxEventsCounted, func(e store.StoredEvent) error {
		if app := e.Event.GetApp().GetApp(); app != nil {
			if s.startCounts(app) {
				out = append(out, e.Time)
			}
			return nil
		}
		m := e.Event.GetMedia()
		u := m.GetUse()
		k := useKey{e.DeviceID, u.GetKind(), u.GetSource(), u.GetDevice(), u.GetPid()}
		if !m.GetOn() {
			if b, ok := uses[k]; ok {
				delete(uses, k)
				if held[b]--; held[b] <= 0 {
					delete(held, b)
				}
			}
			return nil
		}
		if _, ok := uses[k]; ok || u.GetAppId() == "" || !s.isBrowser(u.GetAppId(), u.GetCategory()) {
			return nil
		}
		b := browserKey{e.DeviceID, u.GetAppId()}
		if held[b] == 0 {
			out = append(out, e.Time)
		}
		uses[k] = b
		held[b]++
		return nil
	})
	return out, err
}

// startCounts reports whether the start of app is one Detections counts.
func (s *Service) startCounts(app *vcguardv1.AppInstance) bool {
	switch policies.VerdictFromProto(app.GetVerdict()) {
	case policies.VerdictForbidden, policies.VerdictUnverified, policies.VerdictOutdated:
		return true
	case policies.VerdictUnlisted:
		return !s.isBrowser(app.GetAppId(), "")
	}
	return false
}

// isBrowser reports whether app id is a browser: by the category the agent
// sent, else by this server's catalog.
func (s *Service) isBrowser(id, category string) bool {
	if category != "" {
		return category == string(policies.CategoryBrowser)
	}
	cat := s.CurrentCatalog()
	if cat == nil {
		return false
	}
	app, ok := cat.App(id)
	return ok && app.Category == policies.CategoryBrowser
}

// CountEventsSince counts the events of type typ at or after since.
func (s *Service) CountEventsSince(ctx context.Context, typ string, since time.Time) (int, error) {
	return s.Store.CountEventsSince(ctx, typ, since)
}

// MediaUse is a camera or microphone in use, with its device and the
// verdict of the app using it ("" when it names no running app).
type MediaUse struct {
	DeviceID, Hostname string
	apitypes.Media
	Verdict string
}

// UnapprovedMedia lists at most limit (1 to MaxMediaUses) cameras and
// microphones in use now by a process that is not an approved or
// restricted app, newest first.
func (s *Service) UnapprovedMedia(ctx context.Context, limit int) ([]MediaUse, error) {
	if limit < 1 || limit > MaxMediaUses {
		return nil, fmt.Errorf("%w: limit %d: must be from 1 to %d", ErrInvalid, limit, MaxMediaUses)
	}
	uses, err := s.Store.UnapprovedMedia(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]MediaUse, 0, len(uses))
	for _, u := range uses {
		out = append(out, MediaUse{DeviceID: u.DeviceID, Hostname: u.Hostname, Media: mediaView(u.DeviceMedia), Verdict: u.Verdict})
	}
	return out, nil
}

// Secret is an enrollment secret in a list, with whether it may enroll a
// device now.
type Secret struct {
	apitypes.Secret
	Usable bool
	// State is why it may not be used ("revoked", "expired", "used up"),
	// "" when it may.
	State string
}

// EnrollmentSecrets lists the enrollment secrets (never their values).
func (s *Service) EnrollmentSecrets(ctx context.Context) ([]Secret, error) {
	list, err := s.Store.EnrollmentSecrets(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	out := make([]Secret, 0, len(list))
	for _, e := range list {
		out = append(out, Secret{Secret: SecretView(e), Usable: e.Usable(now), State: e.Unusable(now)})
	}
	return out, nil
}

// APITokens lists the API tokens (never their values).
func (s *Service) APITokens(ctx context.Context) ([]apitypes.Token, error) {
	list, err := s.Store.APITokens(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]apitypes.Token, 0, len(list))
	for _, t := range list {
		out = append(out, TokenView(t))
	}
	return out, nil
}

// Admins lists the accounts by username.
func (s *Service) Admins(ctx context.Context) ([]apitypes.Admin, error) {
	list, err := s.Store.Admins(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]apitypes.Admin, 0, len(list))
	for _, a := range list {
		out = append(out, AdminView(a))
	}
	return out, nil
}

// AuditQuery selects a page of the audit log, newest first; zero fields
// match everything.
type AuditQuery struct {
	Actor, Action string
	// Limit is the page size: 0 for DefaultAuditLimit, at most
	// MaxAuditLimit.
	Limit int
	// Before starts the page below this entry id (a page's Next).
	Before int64
}

// AuditPage is a page of the audit log, newest first.
type AuditPage struct {
	Entries []apitypes.AuditEntry
	// Next is the Before of the following (older) page; 0 on the last.
	Next int64
}

// AuditLog reads one page of the audit log.
func (s *Service) AuditLog(ctx context.Context, q AuditQuery) (AuditPage, error) {
	limit, err := pageLimit(q.Limit, DefaultAuditLimit, MaxAuditLimit)
	if err != nil {
		return AuditPage{}, err
	}
	if q.Before < 0 {
		return AuditPage{}, fmt.Errorf("%w: before %d: want the id of an audit entry", ErrInvalid, q.Before)
	}
	// One more tells whether older entries follow.
	entries, err := s.Store.AuditLog(ctx, store.AuditFilter{Actor: q.Actor, Action: q.Action, Before: q.Before, Limit: limit + 1})
	if err != nil {
		return AuditPage{}, err
	}
	var out AuditPage
	if len(entries) > limit {
		entries = entries[:limit]
		out.Next = entries[limit-1].ID
	}
	out.Entries = make([]apitypes.AuditEntry, 0, len(entries))
	for _, e := range entries {
		out.Entries = append(out.Entries, AuditView(e))
	}
	return out, nil
}
