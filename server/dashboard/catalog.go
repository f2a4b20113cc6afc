package dashboard

import (
	"cmp"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/admin"
)

// The catalog pages show the server's catalog: every tool with a summary of
// its facts (GET /catalog), and one tool with each fact's value, note,
// source, the date it was checked and how old that check is
// (GET /catalog/{app}). Ages are counted on the server's clock.

// factMaxAgeMonths is how many months old a fact's check may be before the pages mark it.
const factMaxAgeMonths = 12

// factLabels are the facts' names as a person reads them.
var factLabels = map[string]string{
	"e2ee":                "End-to-end encryption",
	"data_location":       "Data location",
	"self_hostable":       "Self-hostable",
	"open_source":         "Open source",
	"certifications":      "Certifications",
	"jurisdiction":        "Jurisdiction",
	"transfers":           "Transfers out of the EEA",
	"sso":                 "Single sign-on",
	"mfa":                 "Two-factor login",
	"telemetry":           "Telemetry",
	"processor_agreement": "Processor agreement (art. 28 GDPR)",
	"business_model":      "Business model",
	"lifecycle":           "Lifecycle",
}

// catalog is the catalog in use (Dashboard.Catalog, else the service's
// newest published one); nil when there is none.
func (d *Dashboard) catalog() *policies.Catalog {
	if d.Catalog != nil {
		return d.Catalog()
	}
	return d.svc().CurrentCatalog()
}

// factAge is how old a check made on checked is at now.
type factAge struct {
	// Text is the age in days, months or years, e.g. "3 months ago".
	Text string
	// Old is set when the check is more than factMaxAgeMonths old.
	Old bool
	// Future is set when checked is after now's date.
	Future bool
	// Invalid is set when checked is not a date.
	Invalid bool
}

// ageOf computes the age of a fact checked on the date checked
// (YYYY-MM-DD) at now, in whole calendar days in UTC.
func ageOf(checked string, now time.Time) factAge {
	c, err := time.Parse(time.DateOnly, checked)
	if err != nil {
		return factAge{Text: "no valid date", Invalid: true}
	}
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if c.After(today) {
		return factAge{Text: "dated after today", Future: true}
	}
	a := factAge{Old: today.After(c.AddDate(0, factMaxAgeMonths, 0))}
	days := int(today.Sub(c).Hours()/24 + 0.5)
	months := (today.Year()-c.Year())*12 + int(today.Month()) - int(c.Month())
	if today.Day() < c.Day() {
		months--
	}
	switch {
	case days == 0:
		a.Text = "today"
	case days < 61:
		a.Text = plural(days, "day", "days") + " ago"
	case months < 24:
		a.Text = plural(months, "month", "months") + " ago"
	default:
		a.Text = plural(months/12, "year", "years")
		if months%12 > 0 {
			a.Text += ", " + plural(months%12, "month", "months")
		}
		a.Text += " ago"
	}
	return a
}

// httpsURL reports whether s is an https URL with a host, the only kind the
// pages make a link of.
func httpsURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

// factValueText is a fact's value as the pages show it.
func factValueText(name, value string) string {
	switch {
	case name == "self_hostable" && value == "true":
		return "yes"
	case name == "self_hostable" && value == "false":
		return "no"
	case name == "certifications" && value == "":
		return "none listed"
	}
	return value
}

// serverValue is a server-dependent fact's value on one named server.
type serverValue struct{ Host, Value string }

// factDetail is one more field of a fact (a jurisdiction's seat, …).
type factDetail struct {
	Label, Value string
	// None is set when the catalog gives no value; Value then says so.
	None bool
}

// factView is one fact as the tool's page shows it.
type factView struct {
	policies.FactRef
	Label      string
	Text       string
	SourceLink bool
	Age        factAge
	Servers    []serverValue
	Details    []factDetail
}

// DependsOnServer reports whether the fact's value depends on the server.
func (f factView) DependsOnServer() bool { return f.DependsOn == policies.DependsOnServer }

// factViews are the facts of app in policies.FactNames order, present or
// not, aged at now.
func factViews(app *policies.App, now time.Time) []factView {
	refs := app.Facts.List()
	out := make([]factView, 0, len(refs))
	for _, r := range refs {
		v := factView{FactRef: r, Label: cmp.Or(factLabels[r.Name], r.Name)}
		if r.Present {
			v.Text = factValueText(r.Name, r.Value)
			v.SourceLink = httpsURL(r.Source)
			v.Age = ageOf(r.Checked, now)
			for _, h := range slices.Sorted(maps.Keys(r.Servers)) {
				v.Servers = append(v.Servers, serverValue{Host: h, Value: factValueText(r.Name, r.Servers[h])})
			}
			v.Details = factDetails(app.Facts, r.Name)
		}
		out = append(out, v)
	}
	return out
}

// factDetails are the fields some facts carry besides their value.
func factDetails(f *policies.Facts, name string) []factDetail {
	field := func(label, value, none string) factDetail {
		if value == "" {
			return factDetail{Label: label, Value: none, None: true}
		}
		return factDetail{Label: label, Value: value}
	}
	switch {
	case name == "jurisdiction" && f.Jurisdiction != nil:
		j := f.Jurisdiction
		return []factDetail{field("Contracting entity", j.Entity, "not named"), field("Seat", j.Seat, "not named"),
			field("Parent's country", j.Parent, "no parent company")}
	case name == "transfers" && f.Transfers != nil:
		return []factDetail{field("Recipients outside the EEA", strings.Join(f.Transfers.OutsideEEA, ", "), "none named")}
	case name == "sso" && f.SSO != nil:
		return []factDetail{field("Protocols", strings.Join(f.SSO.Protocols, ", "), "none named")}
	case name == "lifecycle" && f.Lifecycle != nil:
		return []factDetail{field("Support ends or ended", f.Lifecycle.Date, "no date")}
	}
	return nil
}

// catalogRow is one tool in the catalog list.
type catalogRow struct {
	ID, Name, Vendor string
	// Present counts the facts the catalog has for the tool, of Total.
	Present, Total int
	// Missing are the labels of the facts it lacks.
	Missing []string
	// Old counts the facts checked more than factMaxAgeMonths ago.
	Old int
	// Oldest is the earliest check date of its facts; OldestAge its age.
	Oldest    string
	OldestAge factAge
	// DependsOnServer is set when a fact depends on the server used.
	DependsOnServer bool
	// E2EE, DataLocation and Jurisdiction are those facts' values, ""
	// when missing.
	E2EE, DataLocation, Jurisdiction string
}

// catalogGroup is the tools of one category.
type catalogGroup struct {
	Category string
	Title    string
	Rows     []catalogRow
}

// categoryTitles are the catalog's categories as the list heads them, in
// the order it shows them.
var categoryTitles = []struct{ category, title string }{
	{string(policies.CategoryMeeting), "Meeting and calling tools"},
	{string(policies.CategoryBrowser), "Browsers"},
	{string(policies.CategoryMultiService), "Multi-service hosts"},
}

func catalogRowOf(app *policies.App, now time.Time) catalogRow {
	row := catalogRow{ID: app.ID, Name: app.Name, Vendor: app.Vendor}
	for _, v := range factViews(app, now) {
		row.Total++
		if !v.Present {
			row.Missing = append(row.Missing, v.Label)
			continue
		}
		row.Present++
		if v.Age.Old {
			row.Old++
		}
		if row.Oldest == "" || v.Checked < row.Oldest {
			row.Oldest = v.Checked
		}
		if v.DependsOnServer() {
			row.DependsOnServer = true
		}
		switch v.Name {
		case "e2ee":
			row.E2EE = v.Text
		case "data_location":
			row.DataLocation = v.Text
		case "jurisdiction":
			row.Jurisdiction = v.Text
		}
	}
	if row.Oldest != "" {
		row.OldestAge = ageOf(row.Oldest, now)
	}
	return row
}

// catalogGroups are the catalog's tools by category, each sorted by name.
func catalogGroups(cat *policies.Catalog, now time.Time) []catalogGroup {
	byCategory := map[string][]catalogRow{}
	if cat != nil {
		for _, app := range cat.Apps() {
			byCategory[string(app.Category)] = append(byCategory[string(app.Category)], catalogRowOf(app, now))
		}
	}
	var out []catalogGroup
	add := func(category, title string) {
		rows := byCategory[category]
		if len(rows) == 0 {
			return
		}
		slices.SortFunc(rows, func(a, b catalogRow) int {
			return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
		})
		out = append(out, catalogGroup{Category: category, Title: title, Rows: rows})
		delete(byCategory, category)
	}
	for _, c := range categoryTitles {
		add(c.category, c.title)
	}
	for _, c := range slices.Sorted(maps.Keys(byCategory)) {
		add(c, "Category "+c)
	}
	return out
}

// embeddedView is one service a multi-service host offers, as its page
// lists them.
type embeddedView struct{ ID, Name string }

// embedsAge is how old the check of a host's service list is; the zero
// age for another app.
func embedsAge(app *policies.App, now time.Time) factAge {
	if app.Embeds == nil {
		return factAge{}
	}
	return ageOf(app.Embeds.Checked, now)
}

func (d *Dashboard) catalogList(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	now := d.svc().Now()
	groups := catalogGroups(d.catalog(), now)
	tools := 0
	for _, g := range groups {
		tools += len(g.Rows)
	}
	d.render(w, http.StatusOK, "catalog.html", page{Title: "Catalog", Session: s, CSRF: s.CSRF,
		Data: map[string]any{"Groups": groups, "Tools": tools, "Today": now.UTC().Format(time.DateOnly),
			"MaxAgeMonths": factMaxAgeMonths, "FactCount": len(policies.FactNames)}})
}

func (d *Dashboard) catalogApp(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	now := d.svc().Now()
	id := r.PathValue("app")
	var app *policies.App
	if cat := d.catalog(); cat != nil {
		app, _ = cat.App(id)
	}
	if app == nil {
		d.render(w, http.StatusNotFound, "catalog_app.html", page{Title: "Not in the catalog", Session: s, CSRF: s.CSRF,
			Data: map[string]any{"ID": id}})
		return
	}
	facts := factViews(app, now)
	present, old := 0, 0
	for _, f := range facts {
		if f.Present {
			present++
			if f.Age.Old {
				old++
			}
		}
	}
	var embeds []embeddedView
	if app.Embeds != nil {
		cat := d.catalog()
		for _, e := range app.Embeds.Apps {
			v := embeddedView{ID: e, Name: e}
			if other, ok := cat.App(e); ok {
				v.Name = other.Name
			}
			embeds = append(embeds, v)
		}
	}
	d.render(w, http.StatusOK, "catalog_app.html", page{Title: app.Name + " in the catalog", Session: s, CSRF: s.CSRF,
		Data: map[string]any{"ID": id, "App": app, "Facts": facts, "Present": present, "Old": old, "Embeds": embeds,
			"EmbedsAge": embedsAge(app, now), "EmbedsSourceLink": app.Embeds != nil && httpsURL(app.Embeds.Source),
			"HomepageLink": httpsURL(app.Homepage), "Today": now.UTC().Format(time.DateOnly), "MaxAgeMonths": factMaxAgeMonths}})
}
