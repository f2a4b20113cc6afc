package appconfig

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestHostOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "https://meet.jit.si", want: "meet.jit.si"},
		{in: "https://Meet.Example.ORG:8443/base/Room?x=1#y", want: "meet.example.org"},
		{in: "meet.example.org", want: "meet.example.org"},
		{in: "meet.example.org/SecretRoom", want: "meet.example.org"},
		{in: "https://user:pw@host.example/", want: "host.example"},
		{in: "https://[2001:db8::1]:443/", want: "2001:db8::1"},
		{in: "https://192.0.2.7/", want: "192.0.2.7"},
		{in: "https://example.org./", want: "example.org"},
		{in: "", wantErr: true},
		{in: "   ", wantErr: true},
		{in: "https://", wantErr: true},
		{in: "https://exa mple.org/", wantErr: true},
		{in: "https://ex%41mple.org/", wantErr: true},
		{in: "https://a..b/", wantErr: true},
		{in: "https://" + strings.Repeat("a", 64) + ".org/", wantErr: true},
	}
	for _, tt := range tests {
		got, err := hostOf(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("hostOf(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("hostOf(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestHostOfErrorHidesInput(t *testing.T) {
	t.Parallel()
	_, err := hostOf("https://meet.example.org:notaport/SecretRoom")
	if err == nil {
		t.Fatal("want an error for a bad port")
	}
	if strings.Contains(err.Error(), "SecretRoom") {
		t.Errorf("error %q quotes the URL, which carries a room name", err)
	}
}

func TestDomainOfAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "alice@Example.ORG", want: "example.org"},
		{in: "a@b@sub.example.org", want: "sub.example.org"},
		{in: "alice", wantErr: true},
		{in: "alice@", wantErr: true},
		{in: "alice@exa mple.org", wantErr: true},
	}
	for _, tt := range tests {
		got, err := domainOfAddress(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("domainOfAddress(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFormatErrorNamesKindAndField(t *testing.T) {
	t.Parallel()
	err := formatErr("Mattermost config.json", "servers[2].url", "not a URL")
	if got, want := err.Error(), "Mattermost config.json: field servers[2].url: not a URL"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Field != "servers[2].url" {
		t.Errorf("errors.As: %#v", fe)
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	c := normalize(Connection{
		Servers:  []string{"b.example", "a.example", "b.example"},
		Accounts: []Account{{Kind: KindWork, Domain: "b.example"}, {Kind: KindWork, Domain: "a.example"}, {Kind: KindWork, Domain: "b.example"}},
	})
	if !slices.Equal(c.Servers, []string{"a.example", "b.example"}) {
		t.Errorf("Servers = %v", c.Servers)
	}
	if len(c.Accounts) != 2 || c.Accounts[0].Domain != "a.example" {
		t.Errorf("Accounts = %v", c.Accounts)
	}
}

// checkConnection is the invariant every parser's result keeps: hosts and
// domains are clean, sorted and unique; nothing else from a file leaks out.
func checkConnection(t *testing.T, c Connection) {
	t.Helper()
	for _, s := range c.Servers {
		if h, err := cleanHost(s); err != nil || h != s {
			t.Errorf("server %q is not a clean host name", s)
		}
	}
	if !slices.IsSorted(c.Servers) || len(slices.Compact(slices.Clone(c.Servers))) != len(c.Servers) {
		t.Errorf("servers %v not sorted and unique", c.Servers)
	}
	for _, a := range c.Accounts {
		if a.Domain != "" {
			if d, err := cleanHost(a.Domain); err != nil || d != a.Domain {
				t.Errorf("account domain %q is not a clean host name", a.Domain)
			}
		}
		if a.Tenant != "" {
			if tid, err := cleanTenantID(a.Tenant); err != nil || tid != a.Tenant {
				t.Errorf("tenant %q is not a clean GUID", a.Tenant)
			}
		}
		switch a.Kind {
		case KindWork, KindPersonal, KindUnknown:
		default:
			t.Errorf("account kind %q", a.Kind)
		}
	}
}
