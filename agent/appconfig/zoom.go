package appconfig

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"

	"howett.net/plist"
)

// Zoom Workplace on Linux keeps its settings in ~/.config/zoomus.conf (the
// Flatpak in ~/.var/app/us.zoom.Zoom/config/zoomus.conf), a Qt INI file.
// Zoom does not document it; recorded files (testdata/zoom/README.md) show,
// in section [General]:
//
//	conf.webserver                 the Zoom web server the client talks to,
//	                               e.g. https://us04web.zoom.us or eu01web
//	conf.webserver.vendor.default  the account's vanity URL after an
//	                               organisation's sign-in, e.g. https://<org>.zoom.us
//	userEmailAddress               the last signed-in e-mail address
//
// Both web servers are reported as servers; the e-mail address gives the
// login domain only. Whether an account is the organisation's cannot be
// told from the file (a personal address may sign in to a work account),
// so its kind is unknown; policies match the domain or the vanity host.
//
// On macOS the same settings live in the preferences domain ZoomChat,
// ~/Library/Preferences/ZoomChat.plist (the Zoom client is not sandboxed;
// package managers' uninstall lists name this file). Recorded files
// (testdata/zoom/README.md) are binary property lists whose values are all
// strings, with the same conf.webserver and conf.webserver.vendor.default
// keys as zoomus.conf. No macOS sample carried a sign-in address (the
// Linux userEmailAddress), so on macOS only servers are read.
//
// The Windows client is not read. Its %APPDATA%\Zoom\data\Zoom.us.ini, as
// recorded in published forensic write-ups, holds only [ZoomChat]
// win_osencrypt_key (the DPAPI-protected key of its SQLCipher databases),
// com.zoom.client.langid and com.disable.connection.pk.status; the web
// server and the signed-in account are inside the encrypted zoomus.enc.db,
// which the agent does not decrypt. The reader therefore has no Windows
// locations (ErrUnsupported there).
//
// The SSO URL and login domain an administrator can set (macOS
// us.zoom.config.plist, Windows MSI ZConfig login_domain or Group Policy,
// Zoom KB0065462 and KB0064959) are not read here: they say what the
// organisation allows, not what the client is signed in to, and only the
// openings of Zoom's pages, without their key tables, could be read.
const (
	zoomKind      = "Zoom zoomus.conf"
	zoomPlistKind = "Zoom ZoomChat.plist"
)

func zoomReader() Reader {
	return appReader{id: "zoom", sources: []fileSource{{
		kind: zoomKind,
		paths: osPaths{
			Linux: []string{".config/zoomus.conf", ".var/app/us.zoom.Zoom/config/zoomus.conf"},
		},
		read: configFile(parseZoomConf),
	}, {
		kind:  zoomPlistKind,
		paths: osPaths{Darwin: []string{"Library/Preferences/ZoomChat.plist"}},
		read:  boundedConfigFile(maxPlistBytes, parseZoomChatPlist),
	}}}
}

// parseZoomConf returns the web servers and login domain in zoomus.conf.
func parseZoomConf(b []byte) (Connection, error) {
	c := Connection{AppID: "zoom", Source: zoomKind}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), maxConfigBytes)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if s == "" || s[0] == ';' || s[0] == '#' {
			continue
		}
		if s[0] == '[' {
			if !strings.HasSuffix(s, "]") {
				return Connection{}, formatErr(zoomKind, "", "line %d: section header without ]", line)
			}
			section = s[1 : len(s)-1]
			continue
		}
		key, value, ok := strings.Cut(s, "=")
		if !ok {
			return Connection{}, formatErr(zoomKind, "", "line %d: neither a section nor key=value", line)
		}
		if section != "General" {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if value == "" {
			continue
		}
		switch key {
		case "conf.webserver", "conf.webserver.vendor.default":
			if err := addServer(&c, zoomKind, "General."+key, value); err != nil {
				return Connection{}, err
			}
		case "userEmailAddress":
			d, err := domainOfAddress(value)
			if err != nil {
				return Connection{}, &FormatError{Kind: zoomKind, Field: "General." + key, Err: err}
			}
			c.Accounts = append(c.Accounts, Account{Kind: KindUnknown, Domain: d})
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Connection{}, formatErr(zoomKind, "", "line %d longer than the bound", line+1)
		}
		return Connection{}, formatErr(zoomKind, "", "%v", err)
	}
	return normalize(c), nil
}

// zoomPlistServerKeys are the keys of ZoomChat.plist that name web servers.
var zoomPlistServerKeys = []string{"conf.webserver", "conf.webserver.vendor.default"}

// parseZoomChatPlist returns the web servers in the macOS client's
// ZoomChat.plist (binary, XML or OpenStep property list).
func parseZoomChatPlist(b []byte) (Connection, error) {
	c := Connection{AppID: "zoom", Source: zoomPlistKind}
	var doc map[string]any
	if _, err := plist.Unmarshal(b, &doc); err != nil {
		// The decoder's errors may quote the content.
		return Connection{}, formatErr(zoomPlistKind, "", "not a property list whose top level is a dictionary")
	}
	for _, key := range zoomPlistServerKeys {
		v, ok := doc[key]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return Connection{}, formatErr(zoomPlistKind, key, "is a %s, want a string", plistTypeName(v))
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		if err := addServer(&c, zoomPlistKind, key, s); err != nil {
			return Connection{}, err
		}
	}
	return normalize(c), nil
}

// plistTypeName names a decoded property-list value's type without quoting
// it.
func plistTypeName(v any) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case uint64, int64:
		return "integer"
	case float64:
		return "real"
	case []byte:
		return "data"
	case []any:
		return "array"
	case map[string]any:
		return "dictionary"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
