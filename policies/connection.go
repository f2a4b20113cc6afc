package policies

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// The server and the account behind an approved app. The guidance warns
// not to confuse a public server with the organisation's own (the public
// meet.jit.si against the organisation's Jitsi) and that a provider is a
// processor only for the organisation's accounts: an employee signed in
// with a personal account agrees to terms nobody authorised. A policy
// says, per app, which servers and accounts are the organisation's
// (AppRule.AllowedServers, AppRule.AllowedAccounts); the agent reads what
// the app is set up for from its local configuration and this file judges
// it.

// ConnectionFindingKind names what the policy finds wrong with an app's
// server or account.
type ConnectionFindingKind string

const (
	// ConnectionWrongServer: the app is set up for a server the policy
	// does not allow.
	ConnectionWrongServer ConnectionFindingKind = "wrong_server"
	// ConnectionPersonalAccount: the app is signed in with an account that
	// is not the organisation's.
	ConnectionPersonalAccount ConnectionFindingKind = "personal_account"
)

// ConnectionFindingKinds lists every kind, in a stable order.
var ConnectionFindingKinds = []ConnectionFindingKind{ConnectionWrongServer, ConnectionPersonalAccount}

// Built-in actions where a policy sets none: the employee is told, since
// the app itself is allowed and only its use is wrong.
const (
	DefaultWrongServerAction     = ActionWarn
	DefaultPersonalAccountAction = ActionWarn
)

// AccountKind tells an organisation's account from a personal one.
type AccountKind string

const (
	// AccountWork is an organisation's (work or school) account.
	AccountWork AccountKind = "work"
	// AccountPersonal is a personal (consumer) account.
	AccountPersonal AccountKind = "personal"
	// AccountUnknown: the app's state does not say which.
	AccountUnknown AccountKind = "unknown"
)

// Account is an account an app is signed in with.
type Account struct {
	Kind AccountKind
	// Domain is the login domain (after the @), lower case; "" if unknown.
	Domain string
	// Tenant is an organisation id (e.g. a Microsoft Entra tenant id),
	// lower case; "" if unknown.
	Tenant string
}

// ConnectionSubject is what the agent read of one app's setup.
type ConnectionSubject struct {
	AppID string
	// Group is the device's group.
	Group string
	// Servers are host names, lower case.
	Servers  []string
	Accounts []Account
}

// ConnectionFinding is one thing the policy finds wrong with a setup.
type ConnectionFinding struct {
	Kind ConnectionFindingKind
	// Detail is the server host, or the account's domain or tenant (or its
	// kind when it has neither), at fault.
	Detail string
	Action Action
	// Alternative, Note and InfoURL are the app's entry's, to tell the
	// employee what to do.
	Alternative string
	Note        Note
	InfoURL     string
}

// EvaluateConnection judges an app's servers and accounts under every
// policy in force and returns the findings, one per server or account at
// fault, with the strongest action any policy gives it. Only a policy
// whose entry for the app (in the device's group, else the policy's apps)
// lists allowed servers or accounts judges them; rules by facts do not.
func EvaluateConnection(ps []*Policy, s ConnectionSubject) []ConnectionFinding {
	byKey := map[string]int{}
	var out []ConnectionFinding
	add := func(f ConnectionFinding) {
		key := string(f.Kind) + "\x00" + f.Detail
		if i, ok := byKey[key]; ok {
			if actionRank[f.Action] > actionRank[out[i].Action] {
				out[i].Action = f.Action
			}
			return
		}
		byKey[key] = len(out)
		out = append(out, f)
	}
	for _, p := range ps {
		if p == nil {
			continue
		}
		rule, ok := p.appRule(s.Group, s.AppID)
		if !ok {
			for _, f := range p.serverFactFindings(s) {
				add(f)
			}
			continue
		}
		if rule.Status == StatusForbidden {
			continue
		}
		base := ConnectionFinding{Alternative: rule.Alternative, Note: rule.Note, InfoURL: rule.InfoURL}
		if len(rule.AllowedServers) > 0 {
			for _, host := range s.Servers {
				if !HostAllowed(host, rule.AllowedServers) {
					f := base
					f.Kind, f.Detail, f.Action = ConnectionWrongServer, strings.ToLower(host), p.connectionAction(s.Group, ConnectionWrongServer)
					add(f)
				}
			}
		}
		if len(rule.AllowedAccounts) > 0 {
			for _, a := range s.Accounts {
				if !AccountAllowed(a, rule.AllowedAccounts) {
					f := base
					f.Kind, f.Detail, f.Action = ConnectionPersonalAccount, a.detail(), p.connectionAction(s.Group, ConnectionPersonalAccount)
					add(f)
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Detail < out[j].Detail
	})
	return out
}

// serverFactFindings judges a tool the policy does not list, whose facts
// depend on the server it uses (a Jitsi or Matrix client), by its facts
// on each server: a server on which the rules judge it more strictly than
// on the organisation's own is a wrong_server finding. A server the
// catalog names takes its facts from there; the organisation's own
// servers (the policy's allowed_origins and the app's allowed_servers in
// any group) keep the entry's values; any other server has the
// server-dependent facts unknown, unless the policy names no server of
// its own, when every unnamed server is taken for the organisation's.
func (p *Policy) serverFactFindings(s ConnectionSubject) []ConnectionFinding {
	if p.cat == nil || len(s.Servers) == 0 {
		return nil
	}
	app, ok := p.cat.App(s.AppID)
	if !ok || !app.Facts.DependsOnServer() {
		return nil
	}
	own := p.ownServers(s.AppID)
	base := p.decide(s.Group, s.AppID)
	var out []ConnectionFinding
	for _, host := range s.Servers {
		mine := len(own) == 0 || HostAllowed(host, own)
		d := p.decideWith(s.Group, s.AppID, app.Facts.ForServer(host, mine))
		if statusRank[d.status] <= statusRank[base.status] {
			continue
		}
		out = append(out, ConnectionFinding{
			Kind: ConnectionWrongServer, Detail: strings.ToLower(host),
			Action:      p.connectionAction(s.Group, ConnectionWrongServer),
			Alternative: d.alternative, Note: d.note, InfoURL: d.infoURL,
		})
	}
	return out
}

// statusRank orders decisions from the most to the least permissive; an
// unlisted tool ("") lies between restricted and forbidden.
var statusRank = map[Status]int{StatusApproved: 0, StatusRestricted: 1, "": 2, StatusForbidden: 3}

// ownServers are the hosts the policy names as the organisation's own:
// the browsers' allowed origins and the app's allowed servers, in the
// policy and in every group.
func (p *Policy) ownServers(appID string) []string {
	var hosts []string
	if p.Browsers != nil {
		for _, o := range p.Browsers.AllowedOrigins {
			if op, err := ParseOriginPattern(o); err == nil {
				hosts = append(hosts, op.Host)
				if op.Subdomains {
					hosts = append(hosts, "*."+op.Host)
				}
			}
		}
	}
	hosts = append(hosts, p.Apps[appID].AllowedServers...)
	for _, g := range p.Groups {
		hosts = append(hosts, g.Apps[appID].AllowedServers...)
	}
	return hosts
}

func (a Account) detail() string {
	switch {
	case a.Domain != "":
		return strings.ToLower(a.Domain)
	case a.Tenant != "":
		return strings.ToLower(a.Tenant)
	case a.Kind != "":
		return string(a.Kind) + " account"
	}
	return "unknown account"
}

// appRule returns the app's own entry in the group's view: the group's
// apps, else the policy's.
func (p *Policy) appRule(group, id string) (AppRule, bool) {
	if g, ok := p.Groups[group]; ok {
		if r, ok := g.Apps[id]; ok {
			return r, true
		}
	}
	r, ok := p.Apps[id]
	return r, ok
}

func (p *Policy) connectionAction(group string, k ConnectionFindingKind) Action {
	pick := func(a Actions) Action {
		if k == ConnectionWrongServer {
			return a.WrongServer
		}
		return a.PersonalAccount
	}
	if g, ok := p.Groups[group]; ok {
		if a := pick(g.Actions); a.valid() {
			return a
		}
	}
	if a := pick(p.Actions); a.valid() {
		return a
	}
	if k == ConnectionWrongServer {
		return DefaultWrongServerAction
	}
	return DefaultPersonalAccountAction
}

// HostAllowed reports whether host matches one of the patterns: a host
// name matches itself (case-insensitive, a trailing dot ignored), "*.d"
// matches every subdomain of d but not d itself.
func HostAllowed(host string, patterns []string) bool {
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	if h == "" {
		return false
	}
	for _, p := range patterns {
		p = strings.TrimSuffix(strings.ToLower(p), ".")
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			if strings.HasSuffix(h, "."+rest) {
				return true
			}
			continue
		}
		if h == p {
			return true
		}
	}
	return false
}

// AccountWorkPattern in allowed_accounts allows any organisation's
// account, so only personal and unknown accounts are findings.
const AccountWorkPattern = "work"

// AccountAllowed reports whether an account matches one of the patterns:
// its tenant id, its login domain (or "*." a parent of it), or "work" for
// any account known to be an organisation's. A personal account matches
// only by its tenant or domain listed explicitly.
func AccountAllowed(a Account, patterns []string) bool {
	for _, p := range patterns {
		p = strings.ToLower(p)
		switch {
		case p == AccountWorkPattern:
			if a.Kind == AccountWork {
				return true
			}
		case tenantRE.MatchString(p):
			if strings.EqualFold(a.Tenant, p) {
				return true
			}
		case a.Domain != "" && HostAllowed(a.Domain, []string{p}):
			return true
		}
	}
	return false
}

var (
	// hostPatternRE is a DNS name of letters, digits and hyphens (an IDN
	// in its xn-- form), optionally "*." before it.
	hostPatternRE = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// tenantRE is a tenant id: a GUID.
	tenantRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// maxAllowedEntries bounds allowed_servers, allowed_accounts and
// allowed_origins: the lists travel to every device and into browser
// policies.
const maxAllowedEntries = 200

func (v validator) allowedServers(list []string, path ...string) error {
	if list == nil {
		return nil
	}
	if len(list) == 0 {
		return v.fail("lists no server, so it allows any; list servers or remove it", path...)
	}
	if len(list) > maxAllowedEntries {
		return v.fail(fmt.Sprintf("lists %d servers, more than %d", len(list), maxAllowedEntries), path...)
	}
	for i, h := range list {
		if !validHostPattern(h) {
			return v.fail(fmt.Sprintf("%q is not a host name or a *. pattern (e.g. meet.example.org, *.example.org); no scheme, port or path", h), append(append([]string{}, path...), fmt.Sprint(i))...)
		}
	}
	return nil
}

func (v validator) allowedAccounts(list []string, path ...string) error {
	if list == nil {
		return nil
	}
	if len(list) == 0 {
		return v.fail("lists no account, so it allows any; list accounts or remove it", path...)
	}
	if len(list) > maxAllowedEntries {
		return v.fail(fmt.Sprintf("lists %d accounts, more than %d", len(list), maxAllowedEntries), path...)
	}
	for i, a := range list {
		l := strings.ToLower(a)
		if l == AccountWorkPattern || tenantRE.MatchString(l) || validHostPattern(l) {
			continue
		}
		return v.fail(fmt.Sprintf("%q is not a tenant id (a GUID), a login domain (example.org, *.example.org) or \"work\"", a), append(append([]string{}, path...), fmt.Sprint(i))...)
	}
	return nil
}

func validHostPattern(h string) bool {
	return len(h) <= 253 && h == strings.ToLower(h) && hostPatternRE.MatchString(h) && strings.Trim(h, "*.") != ""
}

// connectionFindingWire pairs each kind with its value in the wire
// contract.
var connectionFindingWire = map[ConnectionFindingKind]vcguardv1.ConnectionFindingKind{
	ConnectionWrongServer:     vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_WRONG_SERVER,
	ConnectionPersonalAccount: vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_PERSONAL_ACCOUNT,
}

// Proto returns the kind's value in the wire contract.
func (k ConnectionFindingKind) Proto() vcguardv1.ConnectionFindingKind {
	return connectionFindingWire[k]
}

// ConnectionFindingKindFromProto returns the kind of a wire value,
// "unknown" for values this version does not know.
func ConnectionFindingKindFromProto(p vcguardv1.ConnectionFindingKind) ConnectionFindingKind {
	return fromWire(connectionFindingWire, p, "unknown")
}

var accountKindWire = map[AccountKind]vcguardv1.AccountKind{
	AccountWork:     vcguardv1.AccountKind_ACCOUNT_KIND_WORK,
	AccountPersonal: vcguardv1.AccountKind_ACCOUNT_KIND_PERSONAL,
	AccountUnknown:  vcguardv1.AccountKind_ACCOUNT_KIND_UNKNOWN,
}

// Proto returns the kind's value in the wire contract.
func (k AccountKind) Proto() vcguardv1.AccountKind { return accountKindWire[k] }

// AccountKindFromProto returns the kind of a wire value, "unknown" for
// values this version does not know.
func AccountKindFromProto(p vcguardv1.AccountKind) AccountKind {
	return fromWire(accountKindWire, p, AccountUnknown)
}
