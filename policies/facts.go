package policies

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
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

	// Jurisdiction is who is legally behind the tool: eu (vendor and
	// parent in the EU/EEA), eu_subsidiary (an EU/EEA entity of a parent
	// outside it), adequacy (outside the EEA in a country with an adequacy
	// decision), third_country, or none (community software that no legal
	// entity stands behind and that runs no service).
	Jurisdiction *JurisdictionFact `yaml:"jurisdiction,omitempty" json:"jurisdiction,omitempty"`
	// Transfers are the personal data transfers out of the EEA: none,
	// adequacy (only to adequacy countries, the US under the Data Privacy
	// Framework included), sccs (standard contractual clauses) or unknown.
	Transfers *TransfersFact `yaml:"transfers,omitempty" json:"transfers,omitempty"`
	// SSO is single sign-on: enforceable, available or none.
	SSO *SSOFact `yaml:"sso,omitempty" json:"sso,omitempty"`
	// MFA is two-factor login: enforceable, available or none.
	MFA *Fact[string] `yaml:"mfa,omitempty" json:"mfa,omitempty"`
	// Telemetry is what the client sends the vendor about its use: none,
	// opt_out or always.
	Telemetry *Fact[string] `yaml:"telemetry,omitempty" json:"telemetry,omitempty"`
	// ProcessorAgreement is the art. 28 GDPR agreement: standard,
	// on_request, none or not_applicable (software the organisation runs).
	ProcessorAgreement *Fact[string] `yaml:"processor_agreement,omitempty" json:"processor_agreement,omitempty"`
	// BusinessModel is how the tool is paid for: paid, freemium,
	// advertising, donations or bundled.
	BusinessModel *Fact[string] `yaml:"business_model,omitempty" json:"business_model,omitempty"`
	// Lifecycle is supported, end_of_support or discontinued, with the date.
	Lifecycle *LifecycleFact `yaml:"lifecycle,omitempty" json:"lifecycle,omitempty"`
}

// Fact is one fact with its source.
type Fact[T any] struct {
	Value   T      `yaml:"value" json:"value"`
	Note    string `yaml:"note,omitempty" json:"note,omitempty"`
	Source  string `yaml:"source" json:"source"`
	Checked string `yaml:"checked" json:"checked"`
	// DependsOn is "server" for a fact that depends on the server the
	// client uses (a Jitsi or Matrix client); Value is then the value for
	// the organisation's own server and Servers the values of named public
	// servers.
	DependsOn string `yaml:"depends_on,omitempty" json:"depends_on,omitempty"`
	// Servers are the fact's values on named servers, by host name.
	Servers map[string]T `yaml:"servers,omitempty" json:"servers,omitempty"`
}

// JurisdictionFact is the jurisdiction with the countries behind it.
type JurisdictionFact struct {
	Fact[string] `yaml:",inline"`
	// Seat is the ISO 3166 alpha-2 country of the contracting entity;
	// empty when the value is none.
	Seat string `yaml:"seat,omitempty" json:"seat,omitempty"`
	// Parent is the country of the ultimate parent; "" when there is none.
	Parent string `yaml:"parent,omitempty" json:"parent,omitempty"`
	// Entity is the legal name of the contracting entity.
	Entity string `yaml:"entity,omitempty" json:"entity,omitempty"`
}

// TransfersFact is the transfer basis with the recipients outside the EEA.
type TransfersFact struct {
	Fact[string] `yaml:",inline"`
	// OutsideEEA are the sub-processors (or countries) outside the EEA
	// the vendor names.
	OutsideEEA []string `yaml:"outside_eea,omitempty" json:"outside_eea,omitempty"`
}

// SSOFact is single sign-on with the protocols offered.
type SSOFact struct {
	Fact[string] `yaml:",inline"`
	// Protocols are saml and oidc.
	Protocols []string `yaml:"protocols,omitempty" json:"protocols,omitempty"`
}

// LifecycleFact is the product's support state with its date.
type LifecycleFact struct {
	Fact[string] `yaml:",inline"`
	// Date is when support ended or ends (YYYY-MM-DD); required unless
	// the value is supported.
	Date string `yaml:"date,omitempty" json:"date,omitempty"`
}

// Allowed values of the enumerated facts.
var (
	E2EEValues               = []string{"default", "optional", "none"}
	DataLocationValues       = []string{"eu", "eu_option", "outside_eu", "self_hosted", "peer_to_peer"}
	OpenSourceValues         = []string{"full", "client", "none"}
	JurisdictionValues       = []string{"eu", "eu_subsidiary", "adequacy", "third_country", "none"}
	TransfersValues          = []string{"none", "adequacy", "sccs", "unknown"}
	EnforceableValues        = []string{"enforceable", "available", "none"}
	TelemetryValues          = []string{"none", "opt_out", "always"}
	ProcessorAgreementValues = []string{"standard", "on_request", "none", "not_applicable"}
	BusinessModelValues      = []string{"paid", "freemium", "advertising", "donations", "bundled"}
	LifecycleValues          = []string{"supported", "end_of_support", "discontinued"}
	SSOProtocolValues        = []string{"saml", "oidc"}
)

// DependsOnServer is the one value of Fact.DependsOn.
const DependsOnServer = "server"

func oneOf(v string, allowed []string) bool { return slices.Contains(allowed, v) }

// FactRef is one fact of an entry seen without its type: its name in the
// catalog, whether the entry has it, its value in text, and its source.
type FactRef struct {
	Name    string
	Present bool
	// Value is the value as text: an enumeration's value, "true"/"false",
	// or a list joined with ", ".
	Value     string
	Note      string
	Source    string
	Checked   string
	DependsOn string
	// Allowed are the values of an enumerated fact; nil for others.
	Allowed []string
	// Servers are an enumerated fact's values on named servers.
	Servers map[string]string
}

// FactNames are the facts in the order the catalog, the notices and the
// dashboard list them.
var FactNames = []string{
	"e2ee", "data_location", "self_hostable", "open_source", "certifications",
	"jurisdiction", "transfers", "sso", "mfa", "telemetry",
	"processor_agreement", "business_model", "lifecycle",
}

// List returns every fact in FactNames order, present or not.
func (f *Facts) List() []FactRef {
	if f == nil {
		f = &Facts{}
	}
	return []FactRef{
		enumRef("e2ee", f.E2EE, E2EEValues),
		enumRef("data_location", f.DataLocation, DataLocationValues),
		boolRef("self_hostable", f.SelfHostable),
		enumRef("open_source", f.OpenSource, OpenSourceValues),
		listRef("certifications", f.Certifications),
		enumRef("jurisdiction", factOf(f.Jurisdiction, func(j *JurisdictionFact) *Fact[string] { return &j.Fact }), JurisdictionValues),
		enumRef("transfers", factOf(f.Transfers, func(t *TransfersFact) *Fact[string] { return &t.Fact }), TransfersValues),
		enumRef("sso", factOf(f.SSO, func(s *SSOFact) *Fact[string] { return &s.Fact }), EnforceableValues),
		enumRef("mfa", f.MFA, EnforceableValues),
		enumRef("telemetry", f.Telemetry, TelemetryValues),
		enumRef("processor_agreement", f.ProcessorAgreement, ProcessorAgreementValues),
		enumRef("business_model", f.BusinessModel, BusinessModelValues),
		enumRef("lifecycle", factOf(f.Lifecycle, func(l *LifecycleFact) *Fact[string] { return &l.Fact }), LifecycleValues),
	}
}

// Fact returns the fact called name.
func (f *Facts) Fact(name string) (FactRef, bool) {
	for _, r := range f.List() {
		if r.Name == name {
			return r, true
		}
	}
	return FactRef{}, false
}

// allowed returns the values of the enumerated fact called name; nil for
// facts that are not enumerations.
func (f *Facts) allowed(name string) []string {
	r, _ := f.Fact(name)
	return r.Allowed
}

func factOf[W any](w *W, inner func(*W) *Fact[string]) *Fact[string] {
	if w == nil {
		return nil
	}
	return inner(w)
}

func refOf[T any](name string, f *Fact[T], text func(T) string) FactRef {
	r := FactRef{Name: name}
	if f == nil {
		return r
	}
	r.Present, r.Value, r.Note, r.Source, r.Checked, r.DependsOn = true, text(f.Value), f.Note, f.Source, f.Checked, f.DependsOn
	if len(f.Servers) > 0 {
		r.Servers = make(map[string]string, len(f.Servers))
		for h, v := range f.Servers {
			r.Servers[h] = text(v)
		}
	}
	return r
}

func enumRef(name string, f *Fact[string], allowed []string) FactRef {
	r := refOf(name, f, func(s string) string { return s })
	r.Allowed = allowed
	return r
}

func boolRef(name string, f *Fact[bool]) FactRef {
	return refOf(name, f, strconv.FormatBool)
}

func listRef(name string, f *Fact[[]string]) FactRef {
	return refOf(name, f, func(l []string) string { return strings.Join(l, ", ") })
}

var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

// requiredFacts are the facts every meeting tool must have: all of them.
var requiredFacts = FactNames

// validate checks every fact present and that the required ones are.
func (f *Facts) validate(fail func(msg string, field ...string) error) error {
	for _, r := range f.List() {
		if !r.Present {
			if slices.Contains(requiredFacts, r.Name) {
				return fail("is required", "facts", r.Name)
			}
			continue
		}
		if r.Allowed != nil && !oneOf(r.Value, r.Allowed) {
			return fail(fmt.Sprintf("%q is not one of %s", r.Value, strings.Join(r.Allowed, ", ")), "facts", r.Name, "value")
		}
		if u, err := url.Parse(r.Source); err != nil || u.Scheme != "https" || u.Host == "" {
			return fail(fmt.Sprintf("%q is not an https URL", r.Source), "facts", r.Name, "source")
		}
		if _, err := time.Parse(time.DateOnly, r.Checked); err != nil {
			return fail(fmt.Sprintf("%q is not a date (YYYY-MM-DD)", r.Checked), "facts", r.Name, "checked")
		}
		switch r.DependsOn {
		case "":
			if len(r.Servers) > 0 {
				return fail("are only for a fact that says depends_on: server", "facts", r.Name, "servers")
			}
		case DependsOnServer:
		default:
			return fail(fmt.Sprintf("%q is not one of %s", r.DependsOn, DependsOnServer), "facts", r.Name, "depends_on")
		}
		hosts := make([]string, 0, len(r.Servers))
		for h := range r.Servers {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		for _, h := range hosts {
			if !validHostPattern(h) || strings.HasPrefix(h, "*.") || h != strings.ToLower(h) {
				return fail(fmt.Sprintf("%q is not a lower-case host name", h), "facts", r.Name, "servers")
			}
			if r.Allowed != nil && !oneOf(r.Servers[h], r.Allowed) {
				return fail(fmt.Sprintf("%q is not one of %s", r.Servers[h], strings.Join(r.Allowed, ", ")), "facts", r.Name, "servers", h)
			}
		}
	}
	if j := f.Jurisdiction; j != nil && j.Value == "none" {
		if j.Seat != "" || j.Parent != "" {
			return fail("is for a legal entity; none has no seat or parent", "facts", "jurisdiction", "seat")
		}
	} else if j != nil {
		if !countryCode.MatchString(j.Seat) {
			return fail(fmt.Sprintf("%q is not an ISO 3166 alpha-2 country code (e.g. IE, US)", j.Seat), "facts", "jurisdiction", "seat")
		}
		if j.Parent != "" && !countryCode.MatchString(j.Parent) {
			return fail(fmt.Sprintf("%q is not an ISO 3166 alpha-2 country code (e.g. IE, US)", j.Parent), "facts", "jurisdiction", "parent")
		}
	}
	if s := f.SSO; s != nil {
		for i, p := range s.Protocols {
			if !oneOf(p, SSOProtocolValues) {
				return fail(fmt.Sprintf("%q is not one of %s", p, strings.Join(SSOProtocolValues, ", ")), "facts", "sso", "protocols", strconv.Itoa(i))
			}
		}
	}
	if l := f.Lifecycle; l != nil {
		if l.Date != "" {
			if _, err := time.Parse(time.DateOnly, l.Date); err != nil {
				return fail(fmt.Sprintf("%q is not a date (YYYY-MM-DD)", l.Date), "facts", "lifecycle", "date")
			}
		} else if l.Value != "supported" {
			return fail(fmt.Sprintf("is required when the value is %s: when support ended or ends", l.Value), "facts", "lifecycle", "date")
		}
	}
	return nil
}

// ForServer returns the facts as they hold on host: a fact that depends on
// the server takes its value on host when the catalog names it, keeps its
// value (the organisation's own server's) when own is true, and is
// unknown (absent) otherwise. Facts that do not depend on the server are
// unchanged. The result shares nothing it changes with f.
func (f *Facts) ForServer(host string, own bool) *Facts {
	if f == nil {
		return nil
	}
	host = strings.ToLower(host)
	out := *f
	out.E2EE = onServer(f.E2EE, host, own)
	out.DataLocation = onServer(f.DataLocation, host, own)
	out.SelfHostable = onServer(f.SelfHostable, host, own)
	out.OpenSource = onServer(f.OpenSource, host, own)
	out.Certifications = onServer(f.Certifications, host, own)
	out.MFA = onServer(f.MFA, host, own)
	out.Telemetry = onServer(f.Telemetry, host, own)
	out.ProcessorAgreement = onServer(f.ProcessorAgreement, host, own)
	out.BusinessModel = onServer(f.BusinessModel, host, own)
	out.Jurisdiction = wrapOnServer(f.Jurisdiction, host, own, func(j *JurisdictionFact) *Fact[string] { return &j.Fact })
	out.Transfers = wrapOnServer(f.Transfers, host, own, func(t *TransfersFact) *Fact[string] { return &t.Fact })
	out.SSO = wrapOnServer(f.SSO, host, own, func(s *SSOFact) *Fact[string] { return &s.Fact })
	out.Lifecycle = wrapOnServer(f.Lifecycle, host, own, func(l *LifecycleFact) *Fact[string] { return &l.Fact })
	return &out
}

// DependsOnServer reports whether any fact depends on the server used.
func (f *Facts) DependsOnServer() bool {
	for _, r := range f.List() {
		if r.DependsOn == DependsOnServer {
			return true
		}
	}
	return false
}

func onServer[T any](f *Fact[T], host string, own bool) *Fact[T] {
	if f == nil || f.DependsOn != DependsOnServer {
		return f
	}
	if v, ok := f.Servers[host]; ok {
		c := *f
		c.Value, c.Servers = v, nil
		return &c
	}
	if own {
		return f
	}
	return nil
}

func wrapOnServer[W any](w *W, host string, own bool, inner func(*W) *Fact[string]) *W {
	if w == nil {
		return nil
	}
	f := onServer(inner(w), host, own)
	if f == nil {
		return nil
	}
	c := *w
	*inner(&c) = *f
	return &c
}
