package policies

import (
	"fmt"
	"net/url"
	"time"
)

// Facts are what the European guidance asks about a videoconferencing
// tool. Each carries the source that backs it and the date it was checked,
// so a person can verify it and see when it may be stale.
type Facts struct {
	// E2EE is end-to-end encryption of calls: default, optional or none.
	E2EE *Fact[string] `yaml:"e2ee" json:"e2ee"`
	// DataLocation is where meeting data is processed: eu, eu_option
	// (the customer can choose the EU), outside_eu, self_hosted or
	// peer_to_peer.
	DataLocation *Fact[string] `yaml:"data_location" json:"data_location"`
	// SelfHostable says whether an organisation can run the service itself.
	SelfHostable *Fact[bool] `yaml:"self_hostable" json:"self_hostable"`
	// OpenSource is full, client (only the client) or none.
	OpenSource *Fact[string] `yaml:"open_source" json:"open_source"`
	// Certifications are security certifications such as ISO/IEC 27001.
	Certifications *Fact[[]string] `yaml:"certifications" json:"certifications"`
}

// Fact is one fact with its source.
type Fact[T any] struct {
	Value   T      `yaml:"value" json:"value"`
	Note    string `yaml:"note,omitempty" json:"note,omitempty"`
	Source  string `yaml:"source" json:"source"`
	Checked string `yaml:"checked" json:"checked"`
}

// Allowed values of the enumerated facts.
var (
	E2EEValues         = []string{"default", "optional", "none"}
	DataLocationValues = []string{"eu", "eu_option", "outside_eu", "self_hosted", "peer_to_peer"}
	OpenSourceValues   = []string{"full", "client", "none"}
)

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func (f *Facts) validate(fail func(msg string, field ...string) error) error {
	type check struct {
		name    string
		present bool
		source  string
		checked string
		value   string // for enumerations
		allowed []string
	}
	var checks []check
	if f.E2EE != nil {
		checks = append(checks, check{"e2ee", true, f.E2EE.Source, f.E2EE.Checked, f.E2EE.Value, E2EEValues})
	} else {
		checks = append(checks, check{name: "e2ee"})
	}
	if f.DataLocation != nil {
		checks = append(checks, check{"data_location", true, f.DataLocation.Source, f.DataLocation.Checked, f.DataLocation.Value, DataLocationValues})
	} else {
		checks = append(checks, check{name: "data_location"})
	}
	if f.SelfHostable != nil {
		checks = append(checks, check{name: "self_hostable", present: true, source: f.SelfHostable.Source, checked: f.SelfHostable.Checked})
	} else {
		checks = append(checks, check{name: "self_hostable"})
	}
	if f.OpenSource != nil {
		checks = append(checks, check{"open_source", true, f.OpenSource.Source, f.OpenSource.Checked, f.OpenSource.Value, OpenSourceValues})
	} else {
		checks = append(checks, check{name: "open_source"})
	}
	if f.Certifications != nil {
		checks = append(checks, check{name: "certifications", present: true, source: f.Certifications.Source, checked: f.Certifications.Checked})
	} else {
		checks = append(checks, check{name: "certifications"})
	}
	for _, c := range checks {
		if !c.present {
			return fail("is required", "facts", c.name)
		}
		if c.allowed != nil && !oneOf(c.value, c.allowed) {
			return fail(fmt.Sprintf("%q is not one of %v", c.value, c.allowed), "facts", c.name, "value")
		}
		if u, err := url.Parse(c.source); err != nil || u.Scheme != "https" || u.Host == "" {
			return fail(fmt.Sprintf("%q is not an https URL", c.source), "facts", c.name, "source")
		}
		if _, err := time.Parse(time.DateOnly, c.checked); err != nil {
			return fail(fmt.Sprintf("%q is not a date (YYYY-MM-DD)", c.checked), "facts", c.name, "checked")
		}
	}
	return nil
}
