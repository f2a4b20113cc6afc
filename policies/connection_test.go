package policies

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestHostAllowed(t *testing.T) {
	t.Parallel()
	patterns := []string{"meet.example.org", "*.example.eu"}
	for host, want := range map[string]bool{
		"meet.example.org":      true,
		"MEET.Example.org.":     true,
		"meet.example.org.evil": false,
		"xmeet.example.org":     false,
		"example.org":           false,
		"a.example.eu":          true,
		"a.b.example.eu":        true,
		"example.eu":            false, // *. is subdomains only
		"badexample.eu":         false,
		"meet.jit.si":           false,
		"":                      false,
	} {
		if got := HostAllowed(host, patterns); got != want {
			t.Errorf("HostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestAccountAllowed(t *testing.T) {
	t.Parallel()
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	const consumer = "9188040d-6c67-4c5b-b112-36a304b66dad"
	cases := []struct {
		a        Account
		patterns []string
		want     bool
	}{
		{Account{Kind: AccountWork, Tenant: tenant}, []string{"work"}, true},
		{Account{Kind: AccountPersonal, Tenant: consumer}, []string{"work"}, false},
		{Account{Kind: AccountUnknown}, []string{"work"}, false},
		{Account{Kind: AccountWork, Tenant: tenant}, []string{strings.ToUpper(tenant)}, true},
		{Account{Kind: AccountWork, Tenant: "00000000-0000-0000-0000-000000000001"}, []string{tenant}, false},
		{Account{Kind: AccountWork, Domain: "example.org"}, []string{"example.org"}, true},
		{Account{Kind: AccountWork, Domain: "sub.example.org"}, []string{"*.example.org"}, true},
		{Account{Kind: AccountWork, Domain: "example.com"}, []string{"example.org", "work-example.org"}, false},
		// A personal account with the organisation's domain is listed
		// explicitly: the domain decides.
		{Account{Kind: AccountPersonal, Domain: "example.org"}, []string{"example.org"}, true},
	}
	for _, c := range cases {
		if got := AccountAllowed(c.a, c.patterns); got != c.want {
			t.Errorf("AccountAllowed(%+v, %v) = %v, want %v", c.a, c.patterns, got, c.want)
		}
	}
}

func TestEvaluateConnection(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	central := mustParse(t, cat, `
name: central
apps:
  jitsi-meet:
    status: approved
    allowed_servers: [meet.example.org]
  microsoft-teams:
    status: restricted
    allowed_accounts: [work]
    note: {en: Only with the organisation's account., de: Nur mit dem Konto der Organisation.}
  zoom:
    status: forbidden
groups:
  lab:
    apps:
      jitsi-meet:
        status: approved
        allowed_servers: ['*.lab.example.org']
    actions:
      wrong_server: block
`)
	local := mustParse(t, cat, `
name: local
apps:
  jitsi-meet:
    status: approved
    allowed_servers: [meet.example.org, meet.jit.si]
actions:
  wrong_server: monitor
`)
	teamsNote, err := NoteByLanguage(map[string]string{"en": "Only with the organisation's account.", "de": "Nur mit dem Konto der Organisation."})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		ps   []*Policy
		s    ConnectionSubject
		want []ConnectionFinding
	}{
		{"own server", []*Policy{central}, ConnectionSubject{AppID: "jitsi-meet", Servers: []string{"meet.example.org"}}, nil},
		{"public server", []*Policy{central}, ConnectionSubject{AppID: "jitsi-meet", Servers: []string{"meet.example.org", "meet.jit.si"}},
			[]ConnectionFinding{{Kind: ConnectionWrongServer, Detail: "meet.jit.si", Action: ActionWarn}}},
		// The strongest action of any policy: central warns though local
		// allows the public server.
		{"two policies", []*Policy{local, central}, ConnectionSubject{AppID: "jitsi-meet", Servers: []string{"meet.jit.si"}},
			[]ConnectionFinding{{Kind: ConnectionWrongServer, Detail: "meet.jit.si", Action: ActionWarn}}},
		{"group's own list and action", []*Policy{central}, ConnectionSubject{AppID: "jitsi-meet", Group: "lab", Servers: []string{"meet.example.org", "a.lab.example.org"}},
			[]ConnectionFinding{{Kind: ConnectionWrongServer, Detail: "meet.example.org", Action: ActionBlock}}},
		{"work account", []*Policy{central}, ConnectionSubject{AppID: "microsoft-teams", Accounts: []Account{{Kind: AccountWork, Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47"}}}, nil},
		{"personal account", []*Policy{central}, ConnectionSubject{AppID: "microsoft-teams", Accounts: []Account{{Kind: AccountPersonal, Tenant: "9188040d-6c67-4c5b-b112-36a304b66dad"}}},
			[]ConnectionFinding{{Kind: ConnectionPersonalAccount, Detail: "9188040d-6c67-4c5b-b112-36a304b66dad", Action: ActionWarn, Note: teamsNote}}},
		{"no list, no finding", []*Policy{central}, ConnectionSubject{AppID: "element", Servers: []string{"matrix.org"}}, nil},
		{"forbidden app is judged as an app, not here", []*Policy{central}, ConnectionSubject{AppID: "zoom", Servers: []string{"zoom.us"}}, nil},
		{"no policy", nil, ConnectionSubject{AppID: "jitsi-meet", Servers: []string{"meet.jit.si"}}, nil},
	}
	for _, c := range cases {
		got := EvaluateConnection(c.ps, c.s)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func TestParsePolicyConnectionErrors(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	cases := []struct{ doc, field, msg string }{
		{"name: x\napps:\n  jitsi-meet:\n    status: approved\n    allowed_servers: [https://meet.example.org]\n", "apps.jitsi-meet.allowed_servers.0", "not a host name"},
		{"name: x\napps:\n  jitsi-meet:\n    status: approved\n    allowed_servers: [Meet.Example.org]\n", "apps.jitsi-meet.allowed_servers.0", "not a host name"},
		{"name: x\napps:\n  jitsi-meet:\n    status: approved\n    allowed_servers: ['*.']\n", "apps.jitsi-meet.allowed_servers.0", "not a host name"},
		{"name: x\napps:\n  jitsi-meet:\n    status: approved\n    allowed_servers: []\n", "apps.jitsi-meet.allowed_servers", "allows any"},
		{"name: x\napps:\n  microsoft-teams:\n    status: approved\n    allowed_accounts: [me@example.org]\n", "apps.microsoft-teams.allowed_accounts.0", "not a tenant id"},
		{"name: x\napps:\n  zoom:\n    status: forbidden\n    allowed_accounts: [work]\n", "apps.zoom.allowed_accounts", "no effect on a forbidden tool"},
		{"name: x\nactions:\n  wrong_server: kill\n", "actions.wrong_server", "not one of monitor, warn, block"},
	}
	for _, c := range cases {
		_, err := ParsePolicy("p.yaml", []byte(c.doc), cat)
		var fe *FieldError
		if err == nil || !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) || fe.Line == 0 {
			t.Errorf("%q: got %v, want field %s with %q and a line", c.doc, err, c.field, c.msg)
		}
	}
}

func testCatalog(t *testing.T) *Catalog {
	t.Helper()
	cat, err := EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func mustParse(t *testing.T, cat *Catalog, doc string) *Policy {
	t.Helper()
	p, err := ParsePolicy("test.yaml", []byte(doc), cat)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
