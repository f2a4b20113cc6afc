package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/adminapi"
	"github.com/vcguard/vcguard/server/store"
)

// chartDays is how many days the overview's charts and counts cover.
const chartDays = 14

// maxChartEvents bounds the events read to draw the detections chart.
const maxChartEvents = 200000

// fleetDevice is a device as the overview and the devices list show it.
type fleetDevice struct {
	adminapi.DeviceJSON
	// Stale is set when the device was not heard from for the stale time.
	Stale bool `json:"stale"`
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

// unapprovedVerdict reports whether verdict v is neither approved nor
// restricted (allowed with conditions): what the charts count.
func unapprovedVerdict(v string) bool {
	return v != string(policies.VerdictApproved) && v != string(policies.VerdictRestricted)
}

// verdicts are the verdicts a device filter offers.
var verdicts = []string{string(policies.VerdictApproved), string(policies.VerdictRestricted), string(policies.VerdictForbidden),
	string(policies.VerdictUnverified), string(policies.VerdictOutdated), string(policies.VerdictUnlisted)}

func (d *Dashboard) fleet(r *http.Request) ([]fleetDevice, error) {
	devs, err := d.API.Store.Devices(r.Context())
	if err != nil {
		return nil, err
	}
	now, stale := d.now(), d.staleAfter()
	out := make([]fleetDevice, 0, len(devs))
	for _, dev := range devs {
		f := fleetDevice{DeviceJSON: d.API.DeviceView(dev), Stale: now.Sub(dev.LastSeen) >= stale}
		for _, a := range dev.Apps {
			f.Flagged = f.Flagged || a.Running && flaggedVerdict(a.Verdict)
		}
		out = append(out, f)
	}
	return out, nil
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

func countFleet(devs []fleetDevice) counters {
	var c counters
	c.Total = len(devs)
	for _, dev := range devs {
		if dev.Online {
			c.Online++
			if !dev.Flagged {
				c.Compliant++
			}
		}
		if dev.Stale {
			c.Stale++
		}
	}
	c.Compliance = "n/a"
	if c.Online > 0 {
		c.Compliance = fmt.Sprintf("%d%%", c.Compliant*100/c.Online)
	}
	return c
}

// deviceFilter selects devices: ?q= (part of hostname or id), ?os=,
// ?group=, ?verdict= (a running app has it), ?status=online|offline|stale.
type deviceFilter struct {
	Q, OS, Group, Verdict, Status string
}

func deviceFilterFrom(q url.Values) deviceFilter {
	return deviceFilter{Q: strings.TrimSpace(q.Get("q")), OS: q.Get("os"), Group: q.Get("group"), Verdict: q.Get("verdict"), Status: q.Get("status")}
}

func (f deviceFilter) match(d fleetDevice) bool {
	if f.Q != "" {
		q := strings.ToLower(f.Q)
		if !strings.Contains(strings.ToLower(d.Hostname), q) && !strings.Contains(strings.ToLower(d.ID), q) {
			return false
		}
	}
	if f.OS != "" && d.OS != f.OS || f.Group != "" && d.Group != f.Group {
		return false
	}
	if f.Verdict != "" && !slices.ContainsFunc(d.Apps, func(a adminapi.AppJSON) bool { return a.Running && a.Verdict == f.Verdict }) {
		return false
	}
	switch f.Status {
	case "online":
		return d.Online
	case "offline":
		return !d.Online
	case "stale":
		return d.Stale
	}
	return true
}

// Query is the filter as a query string ("" for none), for links.
func (f deviceFilter) Query() string {
	v := url.Values{}
	for k, s := range map[string]string{"q": f.Q, "os": f.OS, "group": f.Group, "verdict": f.Verdict, "status": f.Status} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

func (f deviceFilter) apply(devs []fleetDevice) []fleetDevice {
	var out []fleetDevice
	for _, d := range devs {
		if f.match(d) {
			out = append(out, d)
		}
	}
	return out
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
	c := chart{Width: chartDays * chartBarWidth, Height: chartTop + chartPlot + 20}
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

// unapprovedMedia is a camera or microphone in use now by a process that
// is not an approved app.
type unapprovedMedia struct {
	DeviceID, Hostname string
	adminapi.MediaJSON
	Verdict string
}

func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, s *store.Session) {
	devs, err := d.fleet(r)
	if err != nil {
		d.serverError(w, "overview", err)
		return
	}
	now := d.now()
	since := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(chartDays - 1))
	started, err := d.API.Store.EventsSince(r.Context(), "app_started", since, maxChartEvents)
	if err != nil {
		d.serverError(w, "overview", err)
		return
	}
	var detections []time.Time
	for _, e := range started {
		if unapprovedVerdict(store.VerdictName(e.Event.GetApp().GetApp().GetVerdict())) {
			detections = append(detections, e.Time)
		}
	}
	findings, err := d.API.Store.CountEventsSince(r.Context(), "media_finding", since)
	if err != nil {
		d.serverError(w, "overview", err)
		return
	}
	var media []unapprovedMedia
	for _, dev := range devs {
		for _, m := range dev.Media {
			verdict := "not a catalog app"
			if m.AppID != "" {
				verdict = string(policies.VerdictUnlisted)
				for _, a := range dev.Apps {
					if a.AppID == m.AppID && a.Running {
						verdict = a.Verdict
					}
				}
			}
			if unapprovedVerdict(verdict) {
				media = append(media, unapprovedMedia{DeviceID: dev.ID, Hostname: dev.Hostname, MediaJSON: m, Verdict: verdict})
			}
		}
	}
	var policy *store.PolicyVersion
	if p, err := d.API.Store.CurrentPolicy(r.Context()); err == nil {
		policy = &p
	}
	d.render(w, http.StatusOK, "overview.html", page{Title: "Overview", Session: s, CSRF: s.CSRF, Refresh: refreshSeconds,
		Data: map[string]any{"Counters": countFleet(devs), "Chart": dayChart(now, detections), "Since": since,
			"MediaFindings": findings, "Media": media, "Policy": policy, "StaleAfter": d.staleAfter().String()}})
}

func (d *Dashboard) devices(w http.ResponseWriter, r *http.Request, s *store.Session) {
	all, err := d.fleet(r)
	if err != nil {
		d.serverError(w, "devices page", err)
		return
	}
	f := deviceFilterFrom(r.URL.Query())
	var oses, groups []string
	for _, dev := range all {
		oses = append(oses, dev.OS)
		if dev.Group != "" {
			groups = append(groups, dev.Group)
		}
	}
	slices.Sort(oses)
	slices.Sort(groups)
	var policy *store.PolicyVersion
	if p, err := d.API.Store.CurrentPolicy(r.Context()); err == nil {
		policy = &p
	}
	shown := f.apply(all)
	d.render(w, http.StatusOK, "devices.html", page{Title: "Devices", Session: s, CSRF: s.CSRF, Refresh: refreshSeconds,
		Data: map[string]any{"Devices": shown, "Counters": countFleet(all), "Shown": len(shown), "Filter": f,
			"OSes": slices.Compact(oses), "Groups": slices.Compact(groups), "Verdicts": verdicts, "Policy": policy}})
}

// liveJSON is what the dashboard's script polls: the fleet's counters and
// the devices the page's filter selects.
type liveJSON struct {
	Counters counters      `json:"counters"`
	Devices  []fleetDevice `json:"devices"`
	Shown    int           `json:"shown"`
}

// live answers the dashboard script's poll, filtered as /devices is.
func (d *Dashboard) live(w http.ResponseWriter, r *http.Request, s *store.Session) {
	all, err := d.fleet(r)
	if err != nil {
		d.serverError(w, "live", err)
		return
	}
	shown := deviceFilterFrom(r.URL.Query()).apply(all)
	if shown == nil {
		shown = []fleetDevice{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(liveJSON{Counters: countFleet(all), Devices: shown, Shown: len(shown)}); err != nil {
		d.Logger.Debug("live", "err", err)
	}
}

func (d *Dashboard) devicesCSV(w http.ResponseWriter, r *http.Request, s *store.Session) {
	all, err := d.fleet(r)
	if err != nil {
		d.serverError(w, "devices export", err)
		return
	}
	rows := [][]string{{"id", "hostname", "os", "os_version", "arch", "group", "agent_version", "status", "last_seen", "enrolled",
		"revoked", "policy_version", "running_apps"}}
	for _, dev := range deviceFilterFrom(r.URL.Query()).apply(all) {
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
		for _, a := range dev.Apps {
			if a.Running {
				apps = append(apps, fmt.Sprintf("%s %s (%s)", a.AppID, a.Version, a.Verdict))
			}
		}
		revoked := ""
		if dev.Revoked != nil {
			revoked = dev.Revoked.UTC().Format(time.RFC3339)
		}
		rows = append(rows, []string{dev.ID, dev.Hostname, dev.OS, dev.OSVersion, dev.Arch, dev.Group, dev.AgentVersion, status,
			dev.LastSeen.UTC().Format(time.RFC3339), dev.Enrolled.UTC().Format(time.RFC3339), revoked,
			fmt.Sprint(dev.PolicyVersion), strings.Join(apps, "; ")})
	}
	d.writeCSV(w, "devices.csv", rows)
}
