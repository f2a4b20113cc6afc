package appconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Element Desktop's signed-in session, from the web app's Chromium local
// storage (<userData>/Local Storage/leveldb, localstorage.go).
//
// The origin: Element Desktop serves the web app from its own "vector"
// scheme, registered as standard and secure, and loads
// vector://vector/webapp/ (element-hq/element-desktop src/electron-main.ts
// at commit a89ef3d9571c93d6d0ca1c430cb7c2c1c944afa6:
// protocol.registerSchemesAsPrivileged, mainWindow.loadURL; src/protocol.ts
// builds the same URL), so local storage items are kept under the origin
// "vector://vector". A dump of a real Element Desktop profile shows the
// keys so, with mx_hs_url "https://matrix-client.matrix.org" for a
// matrix.org account (bahrom04-lab/element-desktop-leveldb README.md,
// "Example Output", commit 088c0da4bf4a5f007e82ee93c8d46ab340043265).
//
// The items: element-web src/Lifecycle.ts (commit
// 3d2361257a1359fb4df5a5cbbff21ac8c4ebd97f), persistCredentials, writes at
// sign-in mx_hs_url (the homeserver URL the session talks to), mx_is_url
// (the identity server, when one is set), mx_user_id, mx_is_guest,
// mx_has_access_token and mx_device_id; the access token itself goes to
// IndexedDB, or to the item mx_access_token where IndexedDB fails
// (src/utils/tokens/tokens.ts, persistTokenInStorage). Older versions kept
// the same item names (src/Lifecycle.ts at
// 00b1a03a3ec73d8739d4ee11bbb3969608a575a6). Signing out (onLoggedOut,
// clearStorage with deleteEverything) calls localStorage.clear(), which
// LevelDB records as deletions.
//
// What is read, and only that is asked of the LevelDB decoder (other
// items are never decoded or kept, so tokens, device ids and room ids
// cannot reach a result):
//
//	mx_hs_url   the homeserver: a server
//	mx_user_id  @localpart:server.name: the server name is the account's
//	            domain (its kind, work or personal, is not in the file)
//
// mx_is_url is not taken for a server: an identity server only maps
// e-mail addresses and phone numbers to Matrix ids (Matrix specification,
// Identity Service API); rooms, messages, files and calls go to the
// homeserver, which is what the catalog's facts for Element describe.
// Element's own default identity server (vector.im) would otherwise be a
// wrong_server finding for every organisation running its own homeserver.
//
// Without mx_hs_url there is no session (never signed in, or signed out),
// and the source counts as absent. Profiles started with --profile (a
// userData of "<appData>/Element-<name>") are not searched.
const (
	elementSessionKind = "Element signed-in session"
	elementOrigin      = "vector://vector"
	elementHSURLItem   = "mx_hs_url"
	elementUserIDItem  = "mx_user_id"
)

// readElementSession reads the signed-in session of the Element whose
// userData directory is userData, under the local storage origin.
func readElementSession(userData string, uid int, origin string) (Connection, error) {
	items, err := readLocalStorage(userData, uid, elementSessionKind, origin, elementHSURLItem, elementUserIDItem)
	if err != nil {
		return Connection{}, err
	}
	return parseElementSession(items)
}

// parseElementSession returns the homeserver and the account's server of
// the session items read; an error matching fs.ErrNotExist when there is
// no session.
func parseElementSession(items map[string]string) (Connection, error) {
	hs, ok := items[elementHSURLItem]
	if !ok {
		return Connection{}, fmt.Errorf("%s: not signed in: %w", elementSessionKind, fs.ErrNotExist)
	}
	c := Connection{AppID: "element", Source: elementSessionKind}
	if err := addServer(&c, elementSessionKind, "local storage item "+elementHSURLItem, hs); err != nil {
		return Connection{}, err
	}
	if id, ok := items[elementUserIDItem]; ok {
		d, err := matrixUserDomain(id)
		if err != nil {
			return Connection{}, &FormatError{Kind: elementSessionKind, Field: "local storage item " + elementUserIDItem, Err: err}
		}
		c.Accounts = append(c.Accounts, Account{Kind: KindUnknown, Domain: d})
	}
	return normalize(c), nil
}

// matrixUserDomain returns the host of the server name of a Matrix user id
// ("@localpart:server.name", the server name a DNS name, IPv4 address or
// bracketed IPv6 address with an optional port; Matrix specification,
// Appendices: Identifier Grammar). The localpart, which never holds a
// colon, is dropped.
func matrixUserDomain(id string) (string, error) {
	rest, ok := strings.CutPrefix(id, "@")
	if !ok {
		return "", errors.New("not a Matrix user id (no leading @)")
	}
	_, server, ok := strings.Cut(rest, ":")
	if !ok || server == "" {
		return "", errors.New("not a Matrix user id (no server name)")
	}
	host, port := server, ""
	if strings.HasPrefix(server, "[") {
		end := strings.IndexByte(server, ']')
		if end < 0 {
			return "", errors.New("server name with an unclosed IPv6 bracket")
		}
		host, port = server[1:end], server[end+1:]
		if !strings.Contains(host, ":") {
			return "", errors.New("bracketed server name is not an IPv6 address")
		}
	} else if h, p, found := strings.Cut(server, ":"); found {
		host, port = h, ":"+p
	}
	if port != "" {
		digits, ok := strings.CutPrefix(port, ":")
		if !ok || digits == "" || len(digits) > 5 || strings.Trim(digits, "0123456789") != "" {
			return "", errors.New("server name with a bad port")
		}
	}
	return cleanHost(host)
}
