package policies

import vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"

// Verdict is the outcome of evaluating a detected tool against a policy.
type Verdict string

const (
	// VerdictApproved: the tool may be used.
	VerdictApproved Verdict = "approved"
	// VerdictRestricted: the tool may be used with a caveat.
	VerdictRestricted Verdict = "restricted"
	// VerdictForbidden: the tool must not be used.
	VerdictForbidden Verdict = "forbidden"
	// VerdictUnlisted: the policy says nothing about the tool.
	VerdictUnlisted Verdict = "unlisted"
	// VerdictUnverified: the process imitates a catalog tool but is not it.
	VerdictUnverified Verdict = "unverified"
	// VerdictOutdated: the tool is older than the policy's minimum version.
	VerdictOutdated Verdict = "outdated"
)

// Detection is what the agent knows of one running tool.
type Detection struct {
	AppID string
	// Verified is set when the executable's identity proves the genuine
	// tool; a look-alike is judged unverified whatever the policy says of
	// the tool it imitates.
	Verified bool
	// Version is the tool's version, "" when unknown.
	Version string
}

// Finding is the evaluation of one detection.
type Finding struct {
	AppID   string
	Verdict Verdict
	// Alternative is the app id the policy recommends instead, if any.
	Alternative string
	Note        string
}

// Evaluate judges a detection under policy p. A nil policy leaves every tool
// unlisted.
func Evaluate(p *Policy, d Detection) Finding {
	f := Finding{AppID: d.AppID, Verdict: VerdictUnlisted}
	if !d.Verified {
		f.Verdict = VerdictUnverified
		return f
	}
	if p == nil {
		return f
	}
	rule, ok := p.Apps[d.AppID]
	if !ok {
		if p.Default != "" {
			f.Verdict = Verdict(p.Default)
		}
		return f
	}
	f.Verdict = Verdict(rule.Status)
	f.Alternative = rule.Alternative
	f.Note = rule.Note
	return f
}

// verdictWire pairs each verdict with its value in the wire contract.
var verdictWire = map[Verdict]vcguardv1.Verdict{
	VerdictApproved:   vcguardv1.Verdict_VERDICT_APPROVED,
	VerdictRestricted: vcguardv1.Verdict_VERDICT_RESTRICTED,
	VerdictForbidden:  vcguardv1.Verdict_VERDICT_FORBIDDEN,
	VerdictUnlisted:   vcguardv1.Verdict_VERDICT_UNLISTED,
	VerdictUnverified: vcguardv1.Verdict_VERDICT_UNVERIFIED,
	VerdictOutdated:   vcguardv1.Verdict_VERDICT_OUTDATED,
}

// Proto returns the verdict's value in the wire contract.
func (v Verdict) Proto() vcguardv1.Verdict { return verdictWire[v] }

// VerdictFromProto returns the verdict of a wire value, "unknown" for
// values this version does not know.
func VerdictFromProto(p vcguardv1.Verdict) Verdict {
	for v, w := range verdictWire {
		if w == p {
			return v
		}
	}
	return "unknown"
}
