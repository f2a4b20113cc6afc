package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
)

// chartDays is how many days the overview's charts and counts cover.
const chartDays = 14

// pageLimit is how many devices the devices page and live.json show at
// once; maxLiveMedia how many media uses the overview lists.
const (
	pageLimit    = 100
	maxLiveMedia = 50
	// topRows is how many findings and silent devices the overview lists.
	topRows = 10
)

// fleetDevice is a device as the overview and the devices list show it.
type fleetDevice struct {
	apitypes.DeviceSummary
	// Flagged is set when an app it runs has a verdict the policy does not
	// allow (forbidden, unverified, outdated).
	Flagged bool `json:"flagged"`
}

// flaggedVerdict reports whether a running app with verdict v makes its
// device non-compliant.
func flaggedVerdict(v string) bool {
	switch policies.Verdict(v) {
	case policies.VerdictForbidden, policies.VerdictUnverified, policies.VerdictOutdated:
		return true
	}
	return false
}

// fleetPage reads one page of devices as the request's query selects it
// (the view's filters and order, limit, cursor or before).
func (d *Dashboard) fleetPage(r *http.Request, limit int) (deviceView, admin.DeviceQuery, []fleetDevice, admin.DevicePage, error) {
	v, q, err := parseDeviceView(r.URL.Query(), limit)
	if err != nil {
		return v, q, nil, admin.DevicePage{}, err
	}
	page, err := d.svc().Devices(r.Context(), q)
	if err != nil {
		return v, q, nil, page, err
	}
	out := make([]fleetDevice, 0, len(page.Devices))
	for _, dev := range page.Devices {
		out = append(out, fleetDevice{DeviceSummary: dev, Flagged: flaggedVerdict(dev.WorstVerdict)})
	}
	return v, q, out, page, nil
}

// counters are the fleet's headline numbers.
type counters struct {
	Total  int `json:"total"`
	Online int `json:"online"`
	Stale  int `json:"stale"`
	// Compliant online devices run no app with a flagged verdict.
	Compliant int `json:"compliant"`
	// Compliance is Compliant as a share of Online, e.g. "75%"; "n/a"
	// with no device online.
	Compliance string `json:"compliance"`
}

// countFleet counts the fleet in SQL.
func (d *Dashboard) countFleet(r *http.Request) (counters, error) {
	fc, err := d.svc().CountFleet(r.Context())
	if err != nil {
		return counters{}, err
	}
	c := counters{Total: fc.Total, Online: fc.Online, Stale: fc.Stale, Compliant: fc.Compliant, Compliance: "n/a"}
	if c.Online > 0 {
		c.Compliance = fmt.Sprintf("%d%%", c.Compliant*100/c.Online)
	}
	return c, nil
}

// chartBar is one day of the detections chart.
type chartBar struct {
	Day    string // 05-04
	Date   string // 2026-05-04
	Count  int
	X, Y   int
	Height int
}

// chart is a bar chart drawn as inline SVG.
type chart struct {
	Bars          []chartBar
	Width, Height int
	Max           int
	Total         int
}

const (
	chartBarWidth = 40
	chartPlot     = 120 // height of the plot area
	chartTop      = 16
)

// dayChart counts times per UTC day over the chartDays days ending today.
func dayChart(now time.Time, times []time.Time) chart {
	first := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(chartDays - 1))
	counts := make([]int, chartDays)
	for _, t := range times {
		i := int(t.UTC().Sub(first) / (24 * time.Hour))
		if t.Before(first) || i >= chartDays {
			continue
		}
		counts[i]++
	}
	// A margin on the right, so that the last day's label is not cut off.
	c := chart{Width: chartDays*chartBarWidth + 12, Height: chartTop + chartPlot + 20}
	for _, n := range counts {
		c.Max = max(c.Max, n)
		c.Total += n
	}
	for i, n := range counts {
		day := first.AddDate(0, 0, i)
		h := 0
		if c.Max > 0 {
			h = n * chartPlot / c.Max
		}
		if n > 0 {
			h = max(h, 2)
		}
		c.Bars = append(c.Bars, chartBar{Day: day.Format("01-02"), Date: day.Format("2006-01-02"), Count: n,
			X: i*chartBarWidth + 6, Y: chartTop + chartPlot - h, Height: h})
	}
	return c
}

func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	ctx := r.Context()
	c, err := d.countFleet(r)
	if err != nil {
		d.serverError(w, "overview", err)
		return
	}
	now := d.svc().Now()
	since := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(chartDays - 1))
	detections, err := d.svc().Detections(ctx, since)
	if err != nil {
		d.serverError(w, "overview", err)
		return
	}
	findings, err := d.svc().CountEventsSince(ctx, "media_finding", since)
	if err != nil {
		d.serverError(w, "overview", err)
		return
	}
	media, err := d.svc().UnapprovedMedia(ctx, maxLiveMedia)
	if err != nil {
		d.serverError(w, "overview", err)
		return
	}
	for i, u := range media {
		switch {
		case u.AppID == "":
			media[i].Verdict = "not a catalog app"
		case u.Verdict == "":
			media[i].Verdict = string(policies.VerdictUnlisted)
		}
	}
	breakdown, err := d.svc().Breakdown(ctx, topRows)
	if err != nil {
		d.serverError(w, "overview", err)
		return
	}
	policy := d.currentPolicy(r)
	d.render(w, http.StatusOK, "overview.html", page{Title: "Overview", Session: s, CSRF: s.CSRF, Refresh: refreshSeconds,
		Data: map[string]any{"Counters": c, "Chart": dayChart(now, detections), "Since": since, "Breakdown": breakdown,
			"MediaFindings": findings, "Media": media, "MediaCapped": len(media) == maxLiveMedia, "Policy": policy,
			"StaleAfter": d.svc().Stale().String()}})
}

// currentPolicy is the policy in force, nil before the first (or when it
// cannot be read: the pages show "no policy" then).
func (d *Dashboard) currentPolicy(r *http.Request) *apitypes.Policy {
	p, err := d.svc().CurrentPolicy(r.Context())
	if err != nil {
		return nil
	}
	return &p
}

// badQuery answers a filter or cursor the server cannot use.
func (d *Dashboard) badQuery(w http.ResponseWriter, what string, err error) {
	var he interface{ StatusCode() int }
	switch {
	case errors.As(err, &he):
		http.Error(w, err.Error(), he.StatusCode())
	case errors.Is(err, admin.ErrInvalid):
		http.Error(w, invalidMessage(err), http.StatusBadRequest)
	default:
		d.serverError(w, what, err)
	}
}

func (d *Dashboard) devices(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	v, q, shown, pg, err := d.fleetPage(r, pageLimit)
	if err != nil {
		d.badQuery(w, "devices page", err)
		return
	}
	c, err := d.countFleet(r)
	if err != nil {
		d.serverError(w, "devices page", err)
		return
	}
	matching, err := d.svc().CountDevices(r.Context(), q)
	if err != nil {
		d.serverError(w, "devices page", err)
		return
	}
	facets, err := d.svc().Facets(r.Context())
	if err != nil {
		d.serverError(w, "devices page", err)
		return
	}
	apps, err := d.svc().AppFacets(r.Context())
	if err != nil {
		d.serverError(w, "devices page", err)
		return
	}
	policy := d.currentPolicy(r)
	var next, prev string
	if pg.Next != "" {
		next = v.PageQuery("cursor", pg.Next)
	}
	if pg.Prev != "" {
		prev = v.PageQuery("before", pg.Prev)
	}
	d.render(w, http.StatusOK, "devices.html", page{Title: "Devices", Session: s, CSRF: s.CSRF, Refresh: refreshSeconds,
		Data: map[string]any{"Devices": shown, "Counters": c, "Shown": matching, "OnPage": len(shown), "View": v,
			"OSes": facets.OSes, "Groups": facets.Groups, "Apps": apps, "Verdicts": admin.Verdicts, "Seen": seenChoices, "PageSizes": []int{25, 50, 250, 500, 1000},
			"Policy": policy, "Next": next, "Prev": prev, "Query": r.URL.RawQuery}})
}

// liveJSON is what the dashboard's script polls: the fleet's counters and
// the page of devices the page's query selects.
type liveJSON struct {
	Counters counters      `json:"counters"`
	Devices  []fleetDevice `json:"devices"`
	// Shown counts every device the filter selects, on this page or not.
	Shown int `json:"shown"`
	// NextCursor is set when more devices follow this page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// live answers the dashboard script's poll, filtered and paged as /devices
// is: counts from SQL and one bounded page.
func (d *Dashboard) live(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	_, q, shown, pg, err := d.fleetPage(r, pageLimit)
	if err != nil {
		d.badQuery(w, "live", err)
		return
	}
	c, err := d.countFleet(r)
	if err != nil {
		d.serverError(w, "live", err)
		return
	}
	matching, err := d.svc().CountDevices(r.Context(), q)
	if err != nil {
		d.serverError(w, "live", err)
		return
	}
	out := liveJSON{Counters: c, Devices: shown, Shown: matching, NextCursor: pg.Next}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		d.Logger.Debug("live", "err", err)
	}
}

// devicesCSV streams the devices the filter selects, a page of 1,000 at a
// time: memory stays bounded however big the fleet.
func (d *Dashboard) devicesCSV(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	_, q, err := parseDeviceView(r.URL.Query(), admin.MaxDeviceLimit)
	if err != nil {
		d.badQuery(w, "devices export", err)
		return
	}
	q.Limit, q.Cursor, q.Before = admin.MaxDeviceLimit, "", ""
	// The first page is read before the header is sent, so a filter the
	// service refuses is answered as such.
	pg, err := d.svc().Devices(r.Context(), q)
	if err != nil {
		d.badQuery(w, "devices export", err)
		return
	}
	cw := d.startCSV(w, r, s, "devices.csv")
	if cw == nil {
		return
	}
	if !cw.row("id", "hostname", "os", "os_version", "arch", "group", "agent_version", "status", "last_seen", "enrolled",
		"revoked", "policy_version", "running_apps", "media_in_use") {
		return
	}
	for {
		for _, dev := range pg.Devices {
			status := "offline"
			switch {
			case dev.Revoked != nil:
				status = "revoked"
			case dev.Online:
				status = "online"
			case dev.Stale:
				status = "stale"
			}
			var apps []string
			for _, a := range dev.Running {
				apps = append(apps, fmt.Sprintf("%s (%s)", a.AppID, a.Verdict))
			}
			if more := dev.RunningApps - len(dev.Running); len(dev.Running) == admin.MaxRunningSummary && more > 0 {
				apps = append(apps, "…")
			}
			revoked := ""
			if dev.Revoked != nil {
				revoked = dev.Revoked.UTC().Format(time.RFC3339)
			}
			if !cw.row(dev.ID, dev.Hostname, dev.OS, dev.OSVersion, dev.Arch, dev.Group, dev.AgentVersion, status,
				dev.LastSeen.UTC().Format(time.RFC3339), dev.Enrolled.UTC().Format(time.RFC3339), revoked,
				fmt.Sprint(dev.PolicyVersion), strings.Join(apps, "; "), fmt.Sprint(dev.MediaInUse)) {
				return
			}
		}
		if pg.Next == "" {
			break
		}
		q.Cursor = pg.Next
		if pg, err = d.svc().Devices(r.Context(), q); err != nil {
			// The header is sent: all that can be done is to stop.
			d.Logger.Error("devices export", "err", err)
			return
		}
	}
	cw.end()
}
