package policies

import (
	"sort"
	"time"
)

// FactAge is one fact with the age of its check.
type FactAge struct {
	AppID string
	File  string
	Fact  string
	// Checked is the day the fact's source was last checked.
	Checked time.Time
	// Days is how long ago that was, in whole days.
	Days int
}

// MaxFactAge is how old a fact's check may be before the catalog check
// reports it: the guidance changes, vendors move data centres and rewrite
// terms, and a fact nobody looked at for a year is a guess.
const MaxFactAge = 365 * 24 * time.Hour

// StaleFacts returns the facts of every entry checked more than maxAge
// before now, oldest first; facts dated after now are returned too (Days
// negative), as a date in the future is a typo.
func (c *Catalog) StaleFacts(now time.Time, maxAge time.Duration) []FactAge {
	var out []FactAge
	today := now.UTC().Truncate(24 * time.Hour)
	for _, a := range c.apps {
		if a.Facts == nil {
			continue
		}
		for _, r := range a.Facts.List() {
			if !r.Present {
				continue
			}
			d, err := time.Parse(time.DateOnly, r.Checked)
			if err != nil {
				continue // the loader refuses such an entry
			}
			age := today.Sub(d)
			if age > maxAge || age < 0 {
				out = append(out, FactAge{AppID: a.ID, File: a.File, Fact: r.Name, Checked: d, Days: int(age / (24 * time.Hour))})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Checked.Equal(out[j].Checked) {
			return out[i].Checked.Before(out[j].Checked)
		}
		return out[i].AppID < out[j].AppID
	})
	return out
}
