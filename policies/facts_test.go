package policies_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/policies"
)

// Each new fact is read with its extra fields, and every fact is listed
// in a fixed order with its source and date.
func TestNewFactsParse(t *testing.T) {
	t.Parallel()
	m, err := policies.ParseApp("catalog/demo.yaml", []byte(validMeeting))
	if err != nil {
		t.Fatal(err)
	}
	f := m.Facts
	if j := f.Jurisdiction; j == nil || j.Value != "eu_subsidiary" || j.Seat != "IE" || j.Parent != "US" || j.Entity != "Demo Ireland Ltd." || j.Checked != "2026-11-24" {
		t.Errorf("jurisdiction = %+v", f.Jurisdiction)
	}
	if tr := f.Transfers; tr == nil || tr.Value != "sccs" || len(tr.OutsideEEA) != 1 || tr.Source != "https://demo.example/subprocessors" {
		t.Errorf("transfers = %+v", f.Transfers)
	}
	if s := f.SSO; s == nil || s.Value != "enforceable" || strings.Join(s.Protocols, ",") != "saml,oidc" {
		t.Errorf("sso = %+v", f.SSO)
	}
	if f.MFA.Value != "enforceable" || f.Telemetry.Value != "opt_out" || f.ProcessorAgreement.Value != "standard" ||
		f.BusinessModel.Value != "freemium" || f.Lifecycle.Value != "supported" {
		t.Errorf("facts = %+v %+v %+v %+v %+v", f.MFA, f.Telemetry, f.ProcessorAgreement, f.BusinessModel, f.Lifecycle)
	}
	list := f.List()
	if len(list) != len(policies.FactNames) {
		t.Fatalf("List has %d facts, want %d", len(list), len(policies.FactNames))
	}
	for i, r := range list {
		if r.Name != policies.FactNames[i] || !r.Present || r.Source == "" || r.Checked == "" {
			t.Errorf("List()[%d] = %+v, want %s present with source and date", i, r, policies.FactNames[i])
		}
	}
	if r, _ := f.Fact("certifications"); r.Value != "ISO/IEC 27001" {
		t.Errorf("certifications as text = %q", r.Value)
	}
}

// A broken fact is refused with the file, line and field at fault.
func TestFactErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, from, to, field, msg string
	}{
		{"unknown jurisdiction", "value: eu_subsidiary,", "value: offshore,", "facts.jurisdiction.value", `"offshore" is not one of eu, eu_subsidiary, adequacy, third_country`},
		{"seat not a country code", "seat: IE,", "seat: Ireland,", "facts.jurisdiction.seat", "ISO 3166"},
		{"no entity with a seat", "value: eu_subsidiary,", "value: none,", "facts.jurisdiction.seat", "none has no seat or parent"},
		{"parent not a country code", "parent: US,", "parent: usa,", "facts.jurisdiction.parent", "ISO 3166"},
		{"unknown transfer basis", "value: sccs,", "value: bcr,", "facts.transfers.value", `"bcr" is not one of`},
		{"unknown sso protocol", "protocols: [saml, oidc]", "protocols: [saml, ldap]", "facts.sso.protocols.1", `"ldap" is not one of saml, oidc`},
		{"unknown mfa", "mfa: {value: enforceable", "mfa: {value: yes", "facts.mfa.value", `"yes" is not one of enforceable, available, none`},
		{"unknown telemetry", "value: opt_out,", "value: opt-out,", "facts.telemetry.value", `"opt-out" is not one of none, opt_out, always`},
		{"unknown agreement", "value: standard,", "value: signed,", "facts.processor_agreement.value", "is not one of"},
		{"unknown business model", "value: freemium,", "value: free,", "facts.business_model.value", "is not one of paid, freemium"},
		{"lifecycle without date", "lifecycle: {value: supported,", "lifecycle: {value: discontinued,", "facts.lifecycle.date", "is required when the value is discontinued"},
		{"lifecycle bad date", "lifecycle: {value: supported,", "lifecycle: {value: end_of_support, date: 'July 2025',", "facts.lifecycle.date", "is not a date"},
		{"source not https", `source: "https://demo.example/dpa"`, `source: "http://demo.example/dpa"`, "facts.processor_agreement.source", "is not an https URL"},
		{"checked not a date", "checked: 2026-11-27}\n  lifecycle", "checked: yesterday}\n  lifecycle", "facts.business_model.checked", "is not a date"},
		{"servers without depends_on", "mfa: {value: enforceable,", "mfa: {value: enforceable, servers: {meet.example: none},", "facts.mfa.servers", "only for a fact that says depends_on: server"},
		{"unknown depends_on", "mfa: {value: enforceable,", "mfa: {value: enforceable, depends_on: account,", "facts.mfa.depends_on", `"account" is not one of server`},
		{"server value not allowed", "mfa: {value: enforceable,", "mfa: {value: enforceable, depends_on: server, servers: {meet.example: maybe},", "facts.mfa.servers.meet.example", `"maybe" is not one of`},
		{"server not a host", "mfa: {value: enforceable,", "mfa: {value: enforceable, depends_on: server, servers: {'Meet Example': none},", "facts.mfa.servers", "not a lower-case host name"},
		{"unknown fact field", "mfa: {value: enforceable,", "mfa: {value: enforceable, seat: IE,", "facts.mfa.seat", "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(validMeeting, tc.from) {
				t.Fatalf("the valid entry has no %q", tc.from)
			}
			doc := strings.Replace(validMeeting, tc.from, tc.to, 1)
			a, err := policies.ParseApp("catalog/demo.yaml", []byte(doc))
			if err == nil {
				t.Fatalf("ParseApp accepted %+v", a.Facts)
			}
			var fe *policies.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			if fe.File != "catalog/demo.yaml" || fe.Line < 20 || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("error = %s:%d field %q: %s; want field %q, message with %q", fe.File, fe.Line, fe.Field, fe.Msg, tc.field, tc.msg)
			}
		})
	}
}

// Facts that depend on the server take their value on a named server,
// keep the entry's on the organisation's own, and are unknown elsewhere;
// the others do not change.
func TestFactsForServer(t *testing.T) {
	t.Parallel()
	src, day := "https://example.org/", "2026-12-06"
	f := &policies.Facts{
		E2EE:         &policies.Fact[string]{Value: "optional", Source: src, Checked: day},
		DataLocation: &policies.Fact[string]{Value: "self_hosted", Source: src, Checked: day, DependsOn: "server", Servers: map[string]string{"meet.jit.si": "outside_eu"}},
		Jurisdiction: &policies.JurisdictionFact{Fact: policies.Fact[string]{Value: "eu", Source: src, Checked: day, DependsOn: "server", Servers: map[string]string{"meet.jit.si": "third_country"}}, Seat: "DE"},
	}
	if !f.DependsOnServer() {
		t.Fatal("DependsOnServer = false")
	}
	pub := f.ForServer("Meet.Jit.Si", false)
	if pub.DataLocation.Value != "outside_eu" || pub.Jurisdiction.Value != "third_country" || pub.Jurisdiction.Seat != "DE" || pub.E2EE != f.E2EE {
		t.Errorf("on meet.jit.si: %+v %+v %+v", pub.DataLocation, pub.Jurisdiction, pub.E2EE)
	}
	if f.DataLocation.Value != "self_hosted" || f.Jurisdiction.Value != "eu" {
		t.Errorf("ForServer changed the entry: %+v %+v", f.DataLocation, f.Jurisdiction)
	}
	own := f.ForServer("meet.example.org", true)
	if own.DataLocation.Value != "self_hosted" || own.Jurisdiction.Value != "eu" {
		t.Errorf("on the organisation's server: %+v %+v", own.DataLocation, own.Jurisdiction)
	}
	other := f.ForServer("meet.example.net", false)
	if other.DataLocation != nil || other.Jurisdiction != nil || other.E2EE == nil {
		t.Errorf("on an unknown server: %+v %+v %+v", other.DataLocation, other.Jurisdiction, other.E2EE)
	}
}

// Rules can test every fact: certifications hold when the tool has one
// of those listed, the rest when the value is listed; a tool without the
// fact matches no condition on it.
func TestConditionsOnEveryFact(t *testing.T) {
	t.Parallel()
	m, err := policies.ParseApp("catalog/demo.yaml", []byte(validMeeting))
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	for _, tc := range []struct {
		name string
		c    policies.Conditions
		want bool
	}{
		{"certification held", policies.Conditions{Certifications: []string{"ISAE 3402", "ISO/IEC 27001"}}, true},
		{"certification not held", policies.Conditions{Certifications: []string{"ISAE 3402"}}, false},
		{"jurisdiction", policies.Conditions{Jurisdiction: []string{"eu", "eu_subsidiary"}}, true},
		{"jurisdiction other", policies.Conditions{Jurisdiction: []string{"eu"}}, false},
		{"transfers", policies.Conditions{Transfers: []string{"sccs"}}, true},
		{"sso", policies.Conditions{SSO: []string{"enforceable"}}, true},
		{"mfa", policies.Conditions{MFA: []string{"none"}}, false},
		{"telemetry", policies.Conditions{Telemetry: []string{"none", "opt_out"}}, true},
		{"processor agreement", policies.Conditions{ProcessorAgreement: []string{"standard"}}, true},
		{"business model", policies.Conditions{BusinessModel: []string{"advertising"}}, false},
		{"lifecycle", policies.Conditions{Lifecycle: []string{"supported"}}, true},
		{"lifecycle ended", policies.Conditions{Lifecycle: []string{"discontinued", "end_of_support"}}, false},
		{"all together", policies.Conditions{Lifecycle: []string{"supported"}, SSO: []string{"enforceable"}, SelfHostable: &no, Category: policies.CategoryMeeting}, true},
		{"one fails", policies.Conditions{Lifecycle: []string{"supported"}, SelfHostable: &yes}, false},
	} {
		if got := tc.c.Match(m); got != tc.want {
			t.Errorf("%s: Match = %v, want %v", tc.name, got, tc.want)
		}
	}
	m.Facts.Lifecycle = nil
	if (policies.Conditions{Lifecycle: []string{"supported"}}).Match(m) {
		t.Error("a tool without the lifecycle fact matched a lifecycle condition")
	}
}

// A policy's conditions on the new facts are checked against their
// values, with the rule and field at fault.
func TestPolicyConditionErrors(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	for _, tc := range []struct{ when, field, msg string }{
		{"{lifecycle: [dead]}", "rules.0.when.lifecycle.0", `"dead" is not one of supported, end_of_support, discontinued`},
		{"{jurisdiction: []}", "rules.0.when.jurisdiction", "lists no value"},
		{"{certifications: ['']}", "rules.0.when.certifications.0", "is empty"},
		{"{telemetry: [off]}", "rules.0.when.telemetry.0", `"off" is not one of none, opt_out, always`},
	} {
		doc := "name: t\ndefault: forbidden\nrules:\n  - when: " + tc.when + "\n    status: forbidden\n"
		_, err := policies.ParsePolicy("p.yaml", []byte(doc), cat)
		var fe *policies.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) || fe.Line != 4 {
			t.Errorf("when %s: error %v; want line 4 field %q with %q", tc.when, err, tc.field, tc.msg)
		}
	}
}

// A tool the policy approves by its facts is judged on each server it
// uses: on a public server the catalog names, facts there apply; on the
// organisation's own (allowed_origins) the entry's; on any other server
// the server-dependent facts are unknown, unless the policy names no
// server of its own.
func TestConnectionJudgedByFactsOnTheServer(t *testing.T) {
	t.Parallel()
	doc := strings.Replace(validMeeting, "category: meeting", "category: meeting", 1)
	doc = strings.Replace(doc, `data_location: {value: eu_option, source: "https://demo.example/privacy", checked: 2026-11-23}`,
		`data_location: {value: self_hosted, depends_on: server, servers: {public.demo.example: outside_eu}, source: "https://demo.example/privacy", checked: 2026-11-23}`, 1)
	doc = strings.Replace(doc, `self_hostable: {value: false,`, `self_hostable: {value: true,`, 1)
	app, err := policies.ParseApp("catalog/demo.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := policies.NewCatalog(app)
	if err != nil {
		t.Fatal(err)
	}
	const rules = "default: forbidden\nrules:\n  - when: {self_hostable: true, data_location: [self_hosted]}\n    status: approved\n    alternative: demo\n"
	own, err := policies.ParsePolicy("p.yaml", []byte("name: own\nbrowsers: {allowed_origins: ['https://*.example.org']}\n"+rules), cat)
	if err != nil {
		t.Fatal(err)
	}
	none, err := policies.ParsePolicy("p.yaml", []byte("name: none\n"+rules), cat)
	if err != nil {
		t.Fatal(err)
	}
	if f := policies.Evaluate(own, policies.Detection{AppID: "demo", Verified: true}); f.Verdict != policies.VerdictApproved {
		t.Fatalf("the tool itself is %s, want approved by its facts", f.Verdict)
	}
	servers := []string{"public.demo.example", "meet.example.org", "meet.elsewhere.net"}
	judge := func(p *policies.Policy) []string {
		var got []string
		for _, f := range policies.EvaluateConnection([]*policies.Policy{p}, policies.ConnectionSubject{AppID: "demo", Servers: servers}) {
			if f.Kind != policies.ConnectionWrongServer || f.Action != policies.DefaultWrongServerAction {
				t.Errorf("finding %+v, want wrong_server with the default action", f)
			}
			got = append(got, f.Detail)
		}
		return got
	}
	if got := strings.Join(judge(own), " "); got != "meet.elsewhere.net public.demo.example" {
		t.Errorf("with an own server: wrong servers %q, want the public one and the unknown one", got)
	}
	if got := strings.Join(judge(none), " "); got != "public.demo.example" {
		t.Errorf("without an own server: wrong servers %q, want only the public one", got)
	}
	// A tool whose facts do not depend on the server is not judged so.
	plain, _ := policies.ParseApp("catalog/demo.yaml", []byte(validMeeting))
	cat2, _ := policies.NewCatalog(plain)
	p2, err := policies.ParsePolicy("p.yaml", []byte("name: p\nrules:\n  - when: {e2ee: [optional]}\n    status: approved\n"), cat2)
	if err != nil {
		t.Fatal(err)
	}
	if f := policies.EvaluateConnection([]*policies.Policy{p2}, policies.ConnectionSubject{AppID: "demo", Servers: servers}); len(f) != 0 {
		t.Errorf("findings %+v for a tool whose facts do not depend on the server", f)
	}
}

// Every meeting tool of the catalog has every fact, each with its own
// source and the date it was checked; the dates are not one stamp for the
// whole catalog, and none lies in the future.
func TestEveryMeetingToolHasEveryFact(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	dates := map[string]int{}
	total := 0
	for _, a := range cat.Apps() {
		if a.Category != policies.CategoryMeeting {
			if a.Facts != nil {
				t.Errorf("%s: a %s has facts", a.ID, a.Category)
			}
			continue
		}
		for _, r := range a.Facts.List() {
			if !r.Present || r.Source == "" || r.Checked == "" {
				t.Errorf("%s: facts.%s missing, or without source or date: %+v", a.ID, r.Name, r)
				continue
			}
			d, err := time.Parse(time.DateOnly, r.Checked)
			if err != nil || d.After(time.Now()) {
				t.Errorf("%s: facts.%s checked %q: not a date, or in the future", a.ID, r.Name, r.Checked)
			}
			dates[r.Checked]++
			total++
		}
	}
	if len(dates) < 2 {
		t.Errorf("all %d facts carry one checked date %v: a stamp, not checks", total, dates)
	}
}
