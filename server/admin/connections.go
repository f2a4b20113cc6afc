package admin

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/store"
)

// The fleet's view of the servers and accounts behind approved apps
// (app_connection) and of the calls held in a browser (browser_meeting).

// Bounds of the connection and browser meeting counts.
const (
	// MaxConnectionApps bounds the apps Connections returns;
	// MaxConnectionEntries the servers and accounts per app.
	MaxConnectionApps    = store.MaxConnectionFleetApps
	MaxConnectionEntries = store.MaxConnectionFleetEntries
	// MaxBrowserServices bounds the services BrowserMeetings tells apart;
	// events naming more are counted, their services not.
	MaxBrowserServices = 100
	// BrowserMeetingWindow is the time BrowserMeetings counts over when
	// the JSON API is not told a start: the dashboard's two weeks.
	BrowserMeetingWindow = 14 * 24 * time.Hour
)

// Connections counts, per app, the servers and accounts the devices' latest
// reports say it is set up for, and on how many devices the policy found
// each wrong: at most MaxConnectionApps apps, those on most devices first,
// and MaxConnectionEntries servers and accounts each.
func (s *Service) Connections(ctx context.Context) ([]apitypes.AppConnections, error) {
	apps, err := s.Store.Connections(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]apitypes.AppConnections, 0, len(apps))
	for _, a := range apps {
		v := apitypes.AppConnections{AppID: a.AppID, Name: s.AppName(a.AppID), Devices: a.Devices, Unreadable: a.Unreadable,
			Latest: a.Latest, EntriesTotal: a.EntriesTotal, Truncated: a.EntriesTotal > len(a.Entries),
			Servers: []apitypes.ConnectionServer{}, Accounts: []apitypes.ConnectionAccount{}}
		for _, e := range a.Entries {
			allowed := e.Flagged == 0
			switch e.Item {
			case store.ConnectionItemServer:
				v.Servers = append(v.Servers, apitypes.ConnectionServer{Host: e.Value, Devices: e.Devices, WrongServer: e.Flagged,
					Allowed: allowed, Action: e.Action})
			case store.ConnectionItemAccount:
				v.Accounts = append(v.Accounts, apitypes.ConnectionAccount{Kind: e.AccountKind, Domain: e.Value, Tenant: e.Tenant,
					Devices: e.Devices, PersonalAccount: e.Flagged, Allowed: allowed, Action: e.Action})
			}
		}
		// What the policy finds wrong first: that is what IT acts on.
		slices.SortStableFunc(v.Servers, func(x, y apitypes.ConnectionServer) int {
			return cmp.Compare(min(x.WrongServer, 1), min(y.WrongServer, 1)) * -1
		})
		slices.SortStableFunc(v.Accounts, func(x, y apitypes.ConnectionAccount) int {
			return cmp.Compare(min(x.PersonalAccount, 1), min(y.PersonalAccount, 1)) * -1
		})
		out = append(out, v)
	}
	return out, nil
}

// AppName is the catalog's name of an app, "" when it does not know it.
func (s *Service) AppName(id string) string {
	cat := s.CurrentCatalog()
	if cat == nil {
		return ""
	}
	if app, ok := cat.App(id); ok {
		return app.Name
	}
	return ""
}

// BrowserMeetings counts the browser_meeting events that happened at or
// after since: per catalog service and verdict, per finding kind, and the
// events where the organisation's own or other sites had the permission,
// each with the devices they came from. It reads at most MaxEventsCounted
// events and holds none of them; at most MaxBrowserServices services are
// told apart.
func (s *Service) BrowserMeetings(ctx context.Context, since time.Time) (apitypes.BrowserMeetings, error) {
	type serviceKey struct{ app, verdict string }
	type counter struct {
		events  int
		sites   int
		devices map[string]bool
	}
	bump := func(c *counter, device string, sites int) {
		c.events++
		c.sites += sites
		if c.devices == nil {
			c.devices = map[string]bool{}
		}
		c.devices[device] = true
	}
	var all, own, other counter
	services := map[serviceKey]*counter{}
	kinds := map[string]*counter{}
	out := apitypes.BrowserMeetings{Since: since, Services: []apitypes.BrowserService{}, Kinds: []apitypes.BrowserMeetingKind{}}
	n := 0
	err := s.Store.EachEventSince(ctx, "browser_meeting", since, MaxEventsCounted, func(e store.StoredEvent) error {
		n++
		m := e.Event.GetBrowserMeeting()
		bump(&all, e.DeviceID, 0)
		kind := string(policies.SiteFindingKindFromProto(m.GetKind()))
		if kinds[kind] == nil {
			kinds[kind] = &counter{}
		}
		bump(kinds[kind], e.DeviceID, 0)
		if m.GetOwnOrigins() > 0 {
			bump(&own, e.DeviceID, int(m.GetOwnOrigins()))
		}
		if m.GetOtherOrigins() > 0 {
			bump(&other, e.DeviceID, int(m.GetOtherOrigins()))
		}
		// A service named twice in one event counts once.
		seen := map[serviceKey]bool{}
		for _, svc := range m.GetServices() {
			k := serviceKey{svc.GetAppId(), string(policies.VerdictFromProto(svc.GetVerdict()))}
			if seen[k] {
				continue
			}
			seen[k] = true
			c := services[k]
			if c == nil {
				if len(services) >= MaxBrowserServices {
					out.Truncated = true
					continue
				}
				c = &counter{}
				services[k] = c
			}
			bump(c, e.DeviceID, 0)
		}
		return nil
	})
	if err != nil {
		return apitypes.BrowserMeetings{}, fmt.Errorf("browser meetings since %s: %w", since.UTC().Format(time.RFC3339), err)
	}
	if n >= MaxEventsCounted {
		out.Truncated = true
	}
	out.Events, out.Devices = all.events, len(all.devices)
	out.OwnSites = apitypes.BrowserSiteCount{Events: own.events, Devices: len(own.devices), Sites: own.sites}
	out.OtherSites = apitypes.BrowserSiteCount{Events: other.events, Devices: len(other.devices), Sites: other.sites}
	for k, c := range services {
		out.Services = append(out.Services, apitypes.BrowserService{AppID: k.app, Name: s.AppName(k.app), Verdict: k.verdict,
			Events: c.events, Devices: len(c.devices)})
	}
	slices.SortFunc(out.Services, func(x, y apitypes.BrowserService) int {
		return cmp.Or(cmp.Compare(y.Events, x.Events), cmp.Compare(x.AppID, y.AppID), cmp.Compare(x.Verdict, y.Verdict))
	})
	// The kinds in the policy's order, each present one once.
	for _, k := range []policies.SiteFindingKind{policies.SiteUnapproved, policies.SiteUnknown, policies.SiteNone, policies.SiteApproved} {
		if c := kinds[string(k)]; c != nil {
			out.Kinds = append(out.Kinds, apitypes.BrowserMeetingKind{Kind: string(k), Events: c.events, Devices: len(c.devices)})
			delete(kinds, string(k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		c := kinds[k]
		out.Kinds = append(out.Kinds, apitypes.BrowserMeetingKind{Kind: k, Events: c.events, Devices: len(c.devices)})
	}
	return out, nil
}

// LatestEvent returns a device's newest event of typ, one of the rare
// types the store keeps a pointer at (store.LatestEventTypes, e.g.
// browser_policy), however many events came after it; ErrNotFound when it
// has none (never sent, or purged by retention).
func (s *Service) LatestEvent(ctx context.Context, deviceID, typ string) (apitypes.Event, error) {
	e, err := s.Store.LatestEvent(ctx, deviceID, typ)
	if err != nil {
		return apitypes.Event{}, err
	}
	return EventView(e), nil
}
