// Package appconfig reads, from an approved meeting app's own local
// configuration in one user's home directory, which servers the app is set up
// for or connected to and which account is signed in to it.
//
// The European videoconferencing guidance warns against two mix-ups that an
// allow-list of apps cannot see: the public server of a product taken for the
// organisation's own (public meet.jit.si instead of the organisation's Jitsi),
// and a personal account used where only a work account is covered by the
// organisation's processing agreement (a personal Microsoft account agrees to
// terms nobody in the organisation authorised). Policies name, per app, the
// allowed servers and accounts; this package supplies the facts to compare.
//
// What is returned is deliberately coarse: host names (never full URLs, which
// carry room names), login domains (never full addresses) and tenant ids. File
// contents are never logged. Files are read as the agent (root or SYSTEM) but
// refused when they are symbolic links, not regular files, not owned by the
// home's owner or root, or larger than a bound (see readUserFile).
//
// Parsers are plain functions over bytes without build tags, so every OS's
// formats are tested on Linux; where the files live is a data table per app
// (paths.go) of which the running OS's column is picked by file suffix.
package appconfig

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// AccountKind says whether an account belongs to an organisation or to a
// person.
type AccountKind string

// The account kinds.
const (
	// KindUnknown is an account whose kind the local files do not show.
	KindUnknown AccountKind = "unknown"
	// KindWork is an organisation's account (for Microsoft: a work or
	// school account in an Entra ID tenant).
	KindWork AccountKind = "work"
	// KindPersonal is a private account (for Microsoft: a personal
	// Microsoft account, in the consumer tenant).
	KindPersonal AccountKind = "personal"
)

// ConsumerTenantID is the Microsoft Entra tenant id of personal Microsoft
// accounts. Microsoft documents it as the tid claim value "for sign-ins to
// the personal Microsoft account tenant (services like Xbox, Teams for Life,
// or Outlook)":
// https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
// (tid), and the MSAL TenantProfile.TenantId documentation says the same:
// https://learn.microsoft.com/en-us/dotnet/api/microsoft.identity.client.tenantprofile
const ConsumerTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// Connection is what one app's local configuration says it is connected to.
type Connection struct {
	// AppID is the catalog app id (policies/catalog/<id>.yaml).
	AppID string
	// Servers are host names (lower case, without scheme, port or path),
	// sorted and unique. They are never full URLs, which carry room names.
	Servers []string
	// Accounts are the signed-in (or last signed-in) accounts, sorted and
	// unique.
	Accounts []Account
	// Source names the kind of file that was read, e.g. "Jitsi Meet
	// settings"; never a path (which would carry the user's name).
	Source string
}

// Account is one account an app is signed in with.
type Account struct {
	// Kind is work, personal or unknown.
	Kind AccountKind
	// Domain is the login domain in lower case (example.org), never the full
	// address.
	Domain string
	// Tenant is the account's tenant id where the app has one (a Microsoft
	// Entra tenant id, lower case), else empty.
	Tenant string
}

// Reader reads one app's connection from a home directory.
type Reader interface {
	// AppID is the catalog app id the reader is for.
	AppID() string
	// Read reads the app's local configuration under home (the user's home
	// directory, or profile directory on Windows) whose files must be owned
	// by uid or root (uid is ignored on Windows). It returns an error
	// wrapping ErrNotConfigured when the app has no local configuration
	// there, and ErrUnsupported where the reader has no file locations
	// for the running OS.
	Read(ctx context.Context, home string, uid int) (Connection, error)
}

// ErrNotConfigured is returned (wrapped) when an app has no local
// configuration in a home directory.
var ErrNotConfigured = errors.New("app has no local configuration in this home")

// ErrUnsupported is errors.ErrUnsupported, returned (wrapped) by a reader
// that knows no file locations for the running OS.
var ErrUnsupported = errors.ErrUnsupported

// FormatError is a file whose content is not what the app writes. It names
// the kind of file and the field; it never quotes the content.
type FormatError struct {
	// Kind is the kind of file, e.g. "Mattermost config.json".
	Kind string
	// Field is the field that was wrong (dotted path, with [i] for list
	// items), or empty when the file as a whole could not be decoded.
	Field string
	// Err says what was wrong.
	Err error
}

func (e *FormatError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %v", e.Kind, e.Err)
	}
	return fmt.Sprintf("%s: field %s: %v", e.Kind, e.Field, e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(kind, field, format string, args ...any) error {
	return &FormatError{Kind: kind, Field: field, Err: fmt.Errorf(format, args...)}
}

// Readers returns one reader per app whose local state can be read reliably,
// in catalog id order. It is the explicit list the agent wires in.
func Readers() []Reader {
	return []Reader{
		elementReader(),
		jitsiReader(),
		mattermostReader(),
		teamsClassicReader(),
		rocketChatReader(),
		zoomReader(),
	}
}

// hostOf returns the lower-case host name of a server URL as an app stores
// it. A value without a scheme is taken as https, the way the apps normalise
// what a user types. Only the host is kept: scheme, user info, port, path,
// query and fragment (which carry room names) are dropped.
func hostOf(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("empty URL")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Error quotes the input, which may carry a room name.
		return "", errors.New("not a URL")
	}
	return cleanHost(u.Hostname())
}

// cleanHost lower-cases a host name and checks it is a DNS name or an IP
// address, so nothing else from a file reaches a policy comparison.
func cleanHost(h string) (string, error) {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	if h == "" {
		return "", errors.New("no host name")
	}
	if net.ParseIP(h) != nil {
		return h, nil
	}
	if len(h) > 253 {
		return "", errors.New("host name too long")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return "", errors.New("not a host name")
		}
		for _, c := range label {
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return "", errors.New("not a host name")
			}
		}
	}
	return h, nil
}

// domainOfAddress returns the lower-case domain of an e-mail address or user
// principal name (the part after the last @), checked as a host name. The
// local part is dropped.
func domainOfAddress(addr string) (string, error) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return "", errors.New("not an address")
	}
	return cleanHost(addr[i+1:])
}

// normalize sorts and de-duplicates a connection's servers and accounts.
func normalize(c Connection) Connection {
	slices.Sort(c.Servers)
	c.Servers = slices.Compact(c.Servers)
	slices.SortFunc(c.Accounts, func(a, b Account) int {
		if n := strings.Compare(string(a.Kind), string(b.Kind)); n != 0 {
			return n
		}
		if n := strings.Compare(a.Domain, b.Domain); n != 0 {
			return n
		}
		return strings.Compare(a.Tenant, b.Tenant)
	})
	c.Accounts = slices.Compact(c.Accounts)
	return c
}

// merge adds b's servers and accounts to a.
func merge(a, b Connection) Connection {
	a.Servers = append(a.Servers, b.Servers...)
	a.Accounts = append(a.Accounts, b.Accounts...)
	return a
}
