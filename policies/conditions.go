package policies

import "slices"

// Conditions are tests of a catalog entry; a list holds when the fact's
// value is one of its items (for certifications: when the tool holds one
// of them). A tool without facts (a browser) matches no condition on
// facts, and a tool without the fact matches no condition on it.
type Conditions struct {
	E2EE               []string `yaml:"e2ee,omitempty" json:"e2ee,omitempty"`
	DataLocation       []string `yaml:"data_location,omitempty" json:"data_location,omitempty"`
	SelfHostable       *bool    `yaml:"self_hostable,omitempty" json:"self_hostable,omitempty"`
	OpenSource         []string `yaml:"open_source,omitempty" json:"open_source,omitempty"`
	Certifications     []string `yaml:"certifications,omitempty" json:"certifications,omitempty"`
	Jurisdiction       []string `yaml:"jurisdiction,omitempty" json:"jurisdiction,omitempty"`
	Transfers          []string `yaml:"transfers,omitempty" json:"transfers,omitempty"`
	SSO                []string `yaml:"sso,omitempty" json:"sso,omitempty"`
	MFA                []string `yaml:"mfa,omitempty" json:"mfa,omitempty"`
	Telemetry          []string `yaml:"telemetry,omitempty" json:"telemetry,omitempty"`
	ProcessorAgreement []string `yaml:"processor_agreement,omitempty" json:"processor_agreement,omitempty"`
	BusinessModel      []string `yaml:"business_model,omitempty" json:"business_model,omitempty"`
	Lifecycle          []string `yaml:"lifecycle,omitempty" json:"lifecycle,omitempty"`
	Category           Category `yaml:"category,omitempty" json:"category,omitempty"`
}

// factConditions pairs each list condition with its fact's name.
func (c Conditions) factConditions() []struct {
	name   string
	values []string
} {
	return []struct {
		name   string
		values []string
	}{
		{"e2ee", c.E2EE}, {"data_location", c.DataLocation}, {"open_source", c.OpenSource},
		{"certifications", c.Certifications}, {"jurisdiction", c.Jurisdiction},
		{"transfers", c.Transfers}, {"sso", c.SSO}, {"mfa", c.MFA},
		{"telemetry", c.Telemetry}, {"processor_agreement", c.ProcessorAgreement},
		{"business_model", c.BusinessModel}, {"lifecycle", c.Lifecycle},
	}
}

func (c Conditions) onFacts() bool {
	if c.SelfHostable != nil {
		return true
	}
	for _, fc := range c.factConditions() {
		if fc.values != nil {
			return true
		}
	}
	return false
}

func (c Conditions) empty() bool { return c.Category == "" && !c.onFacts() }

// Match reports whether app meets every condition.
func (c Conditions) Match(app *App) bool {
	if app == nil {
		return false
	}
	return c.MatchFacts(app.Category, app.Facts)
}

// MatchFacts reports whether a tool of category with facts f meets every
// condition.
func (c Conditions) MatchFacts(category Category, f *Facts) bool {
	if c.Category != "" && category != c.Category {
		return false
	}
	if !c.onFacts() {
		return true
	}
	if f == nil {
		return false
	}
	if c.SelfHostable != nil && (f.SelfHostable == nil || f.SelfHostable.Value != *c.SelfHostable) {
		return false
	}
	for _, fc := range c.factConditions() {
		if fc.values == nil {
			continue
		}
		if fc.name == "certifications" {
			if f.Certifications == nil || !slices.ContainsFunc(f.Certifications.Value, func(have string) bool { return oneOf(have, fc.values) }) {
				return false
			}
			continue
		}
		r, _ := f.Fact(fc.name)
		if !r.Present || !oneOf(r.Value, fc.values) {
			return false
		}
	}
	return true
}
