package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vcguard/vcguard/server/admin"
)

// badParam is a query parameter the dashboard cannot use: a 400 naming
// the parameter.
type badParam struct {
	name, value, want string
}

func (e *badParam) Error() string {
	return fmt.Sprintf("%s=%q: %s", e.name, e.value, e.want)
}

// StatusCode makes badQuery answer 400.
func (e *badParam) StatusCode() int { return http.StatusBadRequest }

// deviceView is the devices list as the query string selects it: filters,
// order and page size, kept in every link (sorting, paging, export).
type deviceView struct {
	Q, OS, Group, App, Verdict, Status, Seen, Sort string
	Limit                                          int
}

// viewParams are the query parameters of a device view, in link order.
var viewParams = []string{"q", "os", "group", "app", "verdict", "status", "seen", "sort", "limit"}

// seenChoices are the "last seen" filter values the form offers; others of
// the same form (within-N or over-N with N hours h or days d) work too.
var seenChoices = []struct{ Value, Label string }{
	{"within-1h", "within 1 hour"}, {"within-24h", "within 24 hours"}, {"within-7d", "within 7 days"},
	{"over-24h", "more than 24 hours ago"}, {"over-7d", "more than 7 days ago"}, {"over-30d", "more than 30 days ago"},
}

// maxViewValue bounds a filter value.
const maxViewValue = 200

// parseDeviceView reads a device view and the service query it makes from
// a query string; a bad value is a *badParam naming its parameter.
func parseDeviceView(q url.Values, defLimit int) (deviceView, admin.DeviceQuery, error) {
	for _, name := range append(slices.Clone(viewParams), "cursor", "before") {
		if vs := q[name]; len(vs) > 1 {
			return deviceView{}, admin.DeviceQuery{}, &badParam{name, strings.Join(vs, ","), "given more than once"}
		} else if len(vs) == 1 && len(vs[0]) > maxViewValue && name != "cursor" && name != "before" {
			return deviceView{}, admin.DeviceQuery{}, &badParam{name, vs[0][:20] + "…", fmt.Sprintf("longer than %d bytes", maxViewValue)}
		}
	}
	v := deviceView{Q: strings.TrimSpace(q.Get("q")), OS: q.Get("os"), Group: q.Get("group"), App: q.Get("app"),
		Verdict: q.Get("verdict"), Status: q.Get("status"), Seen: q.Get("seen"), Sort: q.Get("sort")}
	dq := admin.DeviceQuery{Q: v.Q, OS: v.OS, Group: v.Group, App: v.App, Verdict: v.Verdict, Status: v.Status, Sort: v.Sort,
		Cursor: q.Get("cursor"), Before: q.Get("before")}
	if v.Verdict != "" && !slices.Contains(admin.Verdicts, v.Verdict) {
		return v, dq, &badParam{"verdict", v.Verdict, "want one of " + strings.Join(admin.Verdicts, ", ")}
	}
	switch v.Status {
	case "", "online", "offline", "stale":
	default:
		return v, dq, &badParam{"status", v.Status, "want online, offline or stale"}
	}
	var err error
	if dq.SeenWithin, dq.NotSeenFor, err = admin.ParseSeen(v.Seen); err != nil {
		return v, dq, &badParam{"seen", v.Seen, admin.SeenRule}
	}
	if err := admin.ValidDeviceSort(v.Sort); err != nil {
		return v, dq, &badParam{"sort", v.Sort, "want one of " + strings.Join(admin.DeviceSortKeys, ", ") + ", with a leading - for descending"}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > admin.MaxDeviceLimit {
			return v, dq, &badParam{"limit", s, fmt.Sprintf("want a number from 1 to %d", admin.MaxDeviceLimit)}
		}
		v.Limit = n
	}
	dq.Limit = defLimit
	if v.Limit != 0 {
		dq.Limit = v.Limit
	}
	return v, dq, nil
}

// values are the view's parameters that are set.
func (v deviceView) values() url.Values {
	out := url.Values{}
	for k, s := range map[string]string{"q": v.Q, "os": v.OS, "group": v.Group, "app": v.App, "verdict": v.Verdict,
		"status": v.Status, "seen": v.Seen, "sort": v.Sort} {
		if s != "" {
			out.Set(k, s)
		}
	}
	if v.Limit != 0 {
		out.Set("limit", strconv.Itoa(v.Limit))
	}
	return out
}

func query(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// Query is the view as a query string ("" for the default), for links.
func (v deviceView) Query() string { return query(v.values()) }

// PageQuery is the view with a page position (cursor= or before=).
func (v deviceView) PageQuery(key, cursor string) string {
	vals := v.values()
	vals.Set(key, cursor)
	return query(vals)
}

// SortQuery is the view sorted by key: ascending, or descending when it
// is sorted by key ascending already (a second click on a column).
func (v deviceView) SortQuery(key string) string {
	vals := v.values()
	s := key
	if v.Sort == key || (key == "hostname" && v.Sort == "") {
		s = "-" + key
	}
	if s == "hostname" {
		vals.Del("sort")
	} else {
		vals.Set("sort", s)
	}
	return query(vals)
}

// SortMark is the arrow of a column header: ▲ or ▼ when the view is
// sorted by key, "" otherwise.
func (v deviceView) SortMark(key string) string {
	switch v.Sort {
	case key:
		return "▲"
	case "-" + key:
		return "▼"
	case "":
		if key == "hostname" {
			return "▲"
		}
	}
	return ""
}

// AriaSort is the aria-sort of a column header.
func (v deviceView) AriaSort(key string) string {
	switch v.SortMark(key) {
	case "▲":
		return "ascending"
	case "▼":
		return "descending"
	}
	return "none"
}

// Filtered reports whether any filter is set.
func (v deviceView) Filtered() bool {
	return v.Q != "" || v.OS != "" || v.Group != "" || v.App != "" || v.Verdict != "" || v.Status != "" || v.Seen != ""
}
