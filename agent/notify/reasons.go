package notify

import (
	"fmt"
	"time"

	"github.com/vcguard/vcguard/policies"
)

// maxReasons bounds the facts a notice lists: a notification shows a few
// lines, and the first reasons are the weightiest.
const maxReasons = 3

// negativeFacts returns the translation keys of the facts that count
// against an app, weightiest first, at most maxReasons, with the variables
// they need ({date}). Facts that are unknown, favourable or mean little to
// the person at the keyboard (self-hosting, open source, single sign-on)
// are left out; so is what a deployment's own server decides.
func negativeFacts(f *policies.Facts, lang string) (keys []string, vars map[string]string) {
	if f == nil {
		return nil, nil
	}
	vars = map[string]string{}
	if l := f.Lifecycle; l != nil && (l.Value == "discontinued" || l.Value == "end_of_support") {
		keys = append(keys, "reason_lifecycle_"+l.Value)
		vars["date"] = localDate(l.Date, lang)
	}
	for _, r := range negativeReasons {
		ref, _ := f.Fact(r.fact)
		// A value that depends on the server is the organisation's own
		// server's: nothing to hold against the tool in general.
		if ref.Present && ref.Value == r.value && (ref.DependsOn == "" || !r.ownServerOnly) {
			keys = append(keys, r.key)
		}
	}
	// Certifications are a provider's: a tool run by the organisation
	// itself or peer to peer has no provider to certify.
	provider := f.DataLocation == nil || (f.DataLocation.Value != "self_hosted" && f.DataLocation.Value != "peer_to_peer")
	if provider && f.Certifications != nil && len(f.Certifications.Value) == 0 {
		keys = append(keys, "reason_no_certification")
	}
	if len(keys) > maxReasons {
		keys = keys[:maxReasons]
	}
	return keys, vars
}

// maxEmbeddedNamed is the most embedded services the reason of a
// multi-service host names ("such as A, B and C").
const maxEmbeddedNamed = 3

// embeddedServices returns the names of a multi-service host's services
// the notice names: cleaned, at most maxEmbeddedNamed.
func embeddedServices(names []string) []string {
	var out []string
	for _, s := range names {
		if s := clean(s, maxNameLen, false); s != "" && len(out) < maxEmbeddedNamed {
			out = append(out, s)
		}
	}
	return out
}

// negativeReasons are the fact values that count against a tool, weightiest
// first (after the end of support, which needs its date), with the text
// that says so.
var negativeReasons = []struct {
	fact, value, key string
	// ownServerOnly: skipped when the fact depends on the server.
	ownServerOnly bool
}{
	{fact: "e2ee", value: "none", key: "reason_e2ee_none"},
	{fact: "e2ee", value: "optional", key: "reason_e2ee_optional"},
	{fact: "data_location", value: "outside_eu", key: "reason_data_outside_eu"},
	// The EU option is the organisation's contract; a tool it has not
	// approved is not used under that contract.
	{fact: "data_location", value: "eu_option", key: "reason_data_eu_option"},
	{fact: "transfers", value: "sccs", key: "reason_transfers_sccs", ownServerOnly: true},
	{fact: "transfers", value: "unknown", key: "reason_transfers_unknown", ownServerOnly: true},
	{fact: "jurisdiction", value: "third_country", key: "reason_jurisdiction_third_country", ownServerOnly: true},
	{fact: "jurisdiction", value: "eu_subsidiary", key: "reason_jurisdiction_eu_subsidiary", ownServerOnly: true},
	{fact: "processor_agreement", value: "none", key: "reason_no_processor_agreement"},
	{fact: "business_model", value: "advertising", key: "reason_business_advertising"},
	{fact: "telemetry", value: "always", key: "reason_telemetry_always"},
	{fact: "telemetry", value: "opt_out", key: "reason_telemetry_opt_out"},
	{fact: "mfa", value: "none", key: "reason_mfa_none"},
}

// monthNames are the months in each message language, for dates in a
// sentence.
var monthNames = map[string][12]string{
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	"nl": {"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
	"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
	"de": {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
}

// localDate writes a YYYY-MM-DD date as the language writes it in a
// sentence ("5 May 2025", "5 mei 2025", "5 mai 2025", "5. Mai 2025"); a
// date it cannot read stays as it is.
func localDate(date, lang string) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	names, ok := monthNames[lang]
	if !ok {
		names = monthNames["en"]
	}
	if lang == "de" {
		return fmt.Sprintf("%d. %s %d", t.Day(), names[t.Month()-1], t.Year())
	}
	return fmt.Sprintf("%d %s %d", t.Day(), names[t.Month()-1], t.Year())
}
