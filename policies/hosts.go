package policies

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Multi-service hosts (CategoryMultiService): what the catalog says of the
// meeting services such an app embeds, and its checks of it.

// Embeds are the meeting services a multi-service host offers, as the
// host's own list of services names them.
type Embeds struct {
	// Apps are the catalog ids of those services (meeting tools).
	Apps []string `yaml:"apps" json:"apps"`
	// Note says what the list leaves out, or how it was read.
	Note string `yaml:"note,omitempty" json:"note,omitempty"`
	// Source is the host's list of services (an https URL), Checked the
	// day it was read.
	Source  string `yaml:"source" json:"source"`
	Checked string `yaml:"checked" json:"checked"`
}

// validateEmbeds checks that embeds is there for a multi-service host,
// and only there, with ids, an https source and a date. That the ids are
// the catalog's meeting tools is checked by NewCatalog, which sees them
// all.
func (a *App) validateEmbeds(fail func(msg string, field ...string) error) error {
	e := a.Embeds
	switch {
	case a.Category == CategoryMultiService && e == nil:
		return fail("is required for a multi_service host: name the meeting services it offers", "embeds")
	case a.Category != CategoryMultiService && e != nil:
		return fail("is only for multi_service hosts", "embeds")
	case e == nil:
		return nil
	}
	if len(e.Apps) == 0 {
		return fail("names no service; give the catalog ids of the meeting services the host offers", "embeds", "apps")
	}
	seen := map[string]bool{}
	for i, id := range e.Apps {
		if !appIDPattern.MatchString(id) {
			return fail(fmt.Sprintf("%q is not a valid app id", id), "embeds", "apps", strconv.Itoa(i))
		}
		if seen[id] {
			return fail(fmt.Sprintf("%q is listed twice", id), "embeds", "apps", strconv.Itoa(i))
		}
		seen[id] = true
	}
	if u, err := url.Parse(e.Source); err != nil || u.Scheme != "https" || u.Host == "" {
		return fail(fmt.Sprintf("%q is not an https URL", e.Source), "embeds", "source")
	}
	if _, err := time.Parse(time.DateOnly, e.Checked); err != nil {
		return fail(fmt.Sprintf("%q is not a date (YYYY-MM-DD)", e.Checked), "embeds", "checked")
	}
	return nil
}

// checkEmbeds checks that every service a multi-service host embeds is
// one of the catalog's meeting tools.
func (c *Catalog) checkEmbeds() error {
	for _, a := range c.apps {
		if a.Embeds == nil {
			continue
		}
		for _, id := range a.Embeds.Apps {
			e, ok := c.byID[id]
			switch {
			case !ok:
				return fmt.Errorf("%s: embeds: %q is no app of the catalog", a.File, id)
			case e.Category != CategoryMeeting:
				return fmt.Errorf("%s: embeds: %q is a %s entry, not a meeting tool", a.File, id, e.Category)
			}
		}
	}
	return nil
}

// EmbeddedNames returns the display names of the meeting services app
// embeds (a multi-service host), in its order; nil for any other app.
func (c *Catalog) EmbeddedNames(app *App) []string {
	if app == nil || app.Embeds == nil {
		return nil
	}
	names := make([]string, 0, len(app.Embeds.Apps))
	for _, id := range app.Embeds.Apps {
		if e, ok := c.byID[id]; ok {
			names = append(names, e.Name)
		}
	}
	return names
}
