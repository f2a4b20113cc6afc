package policies

import (
	"strconv"
	"strings"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

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
	// Group is the device's group; "" or a group the policy does not
	// name applies the policy without overrides.
	Group string
}

// Finding is the evaluation of one detection.
type Finding struct {
	AppID   string
	Verdict Verdict
	// Alternative is the app id the policy recommends instead, if any.
	Alternative string
	// Note is the policy's note for the person at the keyboard.
	Note Note
	// InfoURL is a page explaining the decision, if the policy gives one.
	InfoURL string
	// MinVersion is the oldest version the policy allows, if it sets one.
	MinVersion string
	// VersionUnknown is set when the policy sets a minimum version but the
	// tool's version is unknown, so it could not be checked.
	VersionUnknown bool
	// Action is what the agent does about the finding.
	Action Action
	// BlockGrace is the time between warning and termination when Action
	// is block, else 0.
	BlockGrace time.Duration
	// From is the policy field that decided the verdict (e.g. "apps.zoom",
	// "groups.radiology.rules.0", "default"); "" when nothing did.
	From string
}

// decision is what the policy says of one app id in one group's view.
type decision struct {
	status      Status // "" when unlisted
	alternative string
	note        Note
	infoURL     string
	minVersion  string
	from        string
}

// decide returns the policy's decision about id for a device of group:
// apps of the group, apps of the policy, rules of the group, rules of the
// policy, default of the group, default of the policy.
func (p *Policy) decide(group, id string) decision {
	return p.decideWith(group, id, nil)
}

// decideWith is decide, with the rules judging facts instead of the
// catalog's facts when facts is not nil (the facts on one server).
func (p *Policy) decideWith(group, id string, facts *Facts) decision {
	g, inGroup := p.Groups[group]
	fromApp := func(r AppRule, from string) decision {
		return decision{r.Status, r.Alternative, r.Note, r.InfoURL, r.MinVersion, from}
	}
	if r, ok := g.Apps[id]; inGroup && ok {
		return fromApp(r, "groups."+group+".apps."+id)
	}
	if r, ok := p.Apps[id]; ok {
		return fromApp(r, "apps."+id)
	}
	if p.cat != nil {
		if app, ok := p.cat.App(id); ok {
			if facts == nil {
				facts = app.Facts
			}
			if inGroup {
				if d, ok := firstRule(g.Rules, app.Category, facts, "groups."+group+".rules."); ok {
					return d
				}
			}
			if d, ok := firstRule(p.Rules, app.Category, facts, "rules."); ok {
				return d
			}
		}
	}
	if inGroup && g.Default != "" {
		return decision{status: g.Default, from: "groups." + group + ".default"}
	}
	if p.Default != "" {
		return decision{status: p.Default, from: "default"}
	}
	return decision{}
}

func firstRule(rules []Rule, category Category, facts *Facts, prefix string) (decision, bool) {
	for i, r := range rules {
		if r.When.MatchFacts(category, facts) {
			return decision{r.Status, r.Alternative, r.Note, r.InfoURL, "", prefix + strconv.Itoa(i)}, true
		}
	}
	return decision{}, false
}

// Evaluate judges a detection under policy p for the device group in
// d.Group. Rules are judged against the catalog p was parsed with; a
// policy built by hand (not by ParsePolicy) has none and judges by apps
// and default only. A nil policy leaves every tool unlisted.
func Evaluate(p *Policy, d Detection) Finding {
	f := Finding{AppID: d.AppID, Verdict: VerdictUnlisted}
	switch {
	case !d.Verified:
		f.Verdict = VerdictUnverified
	case p != nil:
		dec := p.decide(d.Group, d.AppID)
		f.From = dec.from
		if dec.status != "" {
			f.Verdict = Verdict(dec.status)
			f.Alternative = dec.alternative
			f.Note = dec.note
			f.InfoURL = dec.infoURL
		}
		if dec.minVersion != "" && dec.status != StatusForbidden {
			f.MinVersion = dec.minVersion
			switch cmp, ok := compareVersions(d.Version, dec.minVersion); {
			case !ok:
				f.VersionUnknown = true
			case cmp < 0:
				f.Verdict = VerdictOutdated
			}
		}
	}
	f.Action = p.action(d.Group, f.Verdict)
	if f.Action == ActionBlock {
		f.BlockGrace = p.blockGrace(d.Group)
	}
	return f
}

// action returns what to do about a verdict for a device of group.
func (p *Policy) action(group string, v Verdict) Action {
	pick := func(a Actions) Action {
		switch v {
		case VerdictForbidden:
			return a.Forbidden
		case VerdictUnverified:
			return a.Unverified
		case VerdictOutdated:
			return a.Outdated
		case VerdictRestricted:
			return a.Restricted
		case VerdictUnlisted:
			return a.Unlisted
		case VerdictApproved:
			return a.Approved
		}
		return ""
	}
	var a Action
	if p != nil {
		if g, ok := p.Groups[group]; ok {
			a = pick(g.Actions)
		}
		if a == "" {
			a = pick(p.Actions)
		}
	}
	// A policy built by hand is not validated: never block where a parsed
	// policy may not.
	if a == ActionBlock && v != VerdictForbidden && v != VerdictUnverified && v != VerdictOutdated {
		a = ActionWarn
	}
	if a != "" && a.valid() {
		return a
	}
	return pick(Actions{
		Forbidden:  DefaultForbiddenAction,
		Unverified: DefaultUnverifiedAction,
		Outdated:   DefaultOutdatedAction,
		Restricted: DefaultRestrictedAction,
		Unlisted:   DefaultUnlistedAction,
		Approved:   DefaultApprovedAction,
	})
}

// BlockGrace is the time between warning and closing that the policy sets
// for a device of group (the group's, else the policy's, else
// DefaultBlockGrace).
func (p *Policy) BlockGrace(group string) time.Duration { return p.blockGrace(group) }

func (p *Policy) blockGrace(group string) time.Duration {
	s := p.Actions.BlockGrace
	if g, ok := p.Groups[group]; ok && g.Actions.BlockGrace != "" {
		s = g.Actions.BlockGrace
	}
	if d, err := time.ParseDuration(s); err == nil && d >= minBlockGrace && d <= maxBlockGrace {
		return d
	}
	return DefaultBlockGrace
}

// compareVersions compares a detected version with a minimum of dotted
// numbers, segment by segment, missing segments counting as 0. The
// detected version's numeric segments end at the first that does not start
// with a digit; a segment's non-numeric tail ("2-beta", "2 (1234)") is
// ignored and ends the comparison there. ok is false when the detected
// version has no leading number (unknown).
func compareVersions(version, minimum string) (cmp int, ok bool) {
	have := numericSegments(version)
	if len(have) == 0 {
		return 0, false
	}
	want := numericSegments(minimum)
	for i := 0; i < len(have) || i < len(want); i++ {
		a, b := "0", "0"
		if i < len(have) {
			a = have[i]
		}
		if i < len(want) {
			b = want[i]
		}
		if c := compareDigits(a, b); c != 0 {
			return c, true
		}
	}
	return 0, true
}

// numericSegments returns the leading digit runs of the dot-separated
// segments of v, stopping at the first segment that has a non-digit tail
// (after taking its digits) or no digits.
func numericSegments(v string) []string {
	var out []string
	for _, seg := range strings.Split(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "v")), ".") {
		n := 0
		for n < len(seg) && seg[n] >= '0' && seg[n] <= '9' {
			n++
		}
		if n == 0 {
			break
		}
		out = append(out, seg[:n])
		if n < len(seg) {
			break
		}
	}
	return out
}

// compareDigits compares two runs of ASCII digits as numbers of any size.
func compareDigits(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
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
func VerdictFromProto(p vcguardv1.Verdict) Verdict { return fromWire(verdictWire, p, "unknown") }

// verdictRank orders verdicts from the least to the most restrictive.
var verdictRank = map[Verdict]int{
	VerdictUnlisted: 0, VerdictApproved: 1, VerdictRestricted: 2, VerdictOutdated: 3, VerdictUnverified: 4, VerdictForbidden: 5,
}

var actionRank = map[Action]int{"": 0, ActionMonitor: 1, ActionWarn: 2, ActionBlock: 3}

// EvaluateStrictest judges a detection under several policies that are
// all in force (the central policy and the drop-in files an MDM placed on
// the device) and returns the strictest finding: the most restrictive
// verdict, then the strongest action; on a tie the earlier policy's. So a
// local file can forbid what the central policy allows, or approve what it
// leaves unlisted, but never relax what the central policy decided. Nil
// policies are skipped; with none, the tool is unlisted.
func EvaluateStrictest(ps []*Policy, d Detection) Finding {
	var best Finding
	found := false
	for _, p := range ps {
		if p == nil {
			continue
		}
		f := Evaluate(p, d)
		if !found || verdictRank[f.Verdict] > verdictRank[best.Verdict] ||
			(f.Verdict == best.Verdict && actionRank[f.Action] > actionRank[best.Action]) {
			best, found = f, true
		}
	}
	if !found {
		return Evaluate(nil, d)
	}
	return best
}
