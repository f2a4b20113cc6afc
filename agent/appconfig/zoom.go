package appconfig

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
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
// zoomus.conf is the Linux client's file. No recorded sample of where the
// Windows and macOS clients keep the web server and sign-in address was
// available, so the reader has no locations there (ErrUnsupported).
const zoomKind = "Zoom zoomus.conf"

func zoomReader() Reader {
	return appReader{id: "zoom", sources: []fileSource{{
		kind: zoomKind,
		paths: osPaths{
			Linux: []string{".config/zoomus.conf", ".var/app/us.zoom.Zoom/config/zoomus.conf"},
		},
		read: configFile(parseZoomConf),
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
