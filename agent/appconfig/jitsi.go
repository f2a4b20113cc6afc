package appconfig

import (
	"errors"
	"fmt"
	"strconv"
)

// Jitsi Meet Electron (github.com/jitsi/jitsi-meet-electron) keeps its
// settings and recent meetings in Chromium local storage, not in a settings
// file: app/features/redux/store.ts persists the redux state with
// redux-persist (persistConfig key "root", whitelist recentList and
// settings) to window.localStorage of its file:// page (main.ts loads
// build/index.html with protocol "file:"). redux-persist 5.10
// (src/createPersistoid.js) writes item "persist:root" as a JSON object
// whose members are JSON texts of each persisted slice:
//
//	{"recentList":"{\"recentList\":[{\"room\":…,\"serverURL\":…}]}",
//	 "settings":"{\"serverURL\":…,…}","_persist":"{…}"}
//
// settings.serverURL (app/features/settings/reducer.ts) is the server the
// user chose, unset until they choose one; the app then uses
// config.defaultServerURL, https://meet.jit.si
// (app/features/config/index.ts). recentList entries
// (app/features/recent-list/reducer.ts) carry the serverURL of each past
// meeting and its room name; only hosts are kept.
const (
	jitsiKind          = "Jitsi Meet settings"
	jitsiOrigin        = "file://"
	jitsiPersistKey    = "persist:root"
	jitsiDefaultServer = "https://meet.jit.si"
)

func jitsiReader() Reader {
	userData := electronUserData("Jitsi Meet", "org.jitsi.jitsi-meet", "jitsi-meet-desktop")
	return appReader{id: "jitsi-meet", sources: []fileSource{{
		kind:  jitsiKind,
		paths: userData,
		read: func(dir string, uid int) (Connection, error) {
			items, err := readLocalStorage(dir, uid, jitsiKind, jitsiOrigin, jitsiPersistKey)
			if err != nil {
				return Connection{}, err
			}
			v, ok := items[jitsiPersistKey]
			if !ok {
				// The app ran (its local storage exists) but never saved
				// settings: it connects to its default server.
				return parseJitsiPersistRoot("")
			}
			return parseJitsiPersistRoot(v)
		},
	}}}
}

// parseJitsiPersistRoot returns the servers in Jitsi Meet's persisted redux
// state (the "persist:root" item); an empty state means the default server.
func parseJitsiPersistRoot(v string) (Connection, error) {
	c := Connection{AppID: "jitsi-meet", Source: jitsiKind}
	var top struct {
		RecentList *string `json:"recentList"`
		Settings   *string `json:"settings"`
	}
	if v != "" {
		if err := decodeJSON(jitsiKind, []byte(v), &top); err != nil {
			return Connection{}, err
		}
	}
	server := jitsiDefaultServer
	if top.Settings != nil {
		var settings struct {
			ServerURL *string `json:"serverURL"`
		}
		if err := decodeJSON(jitsiKind, []byte(*top.Settings), &settings); err != nil {
			return Connection{}, prefixField(err, "settings")
		}
		if settings.ServerURL != nil && *settings.ServerURL != "" {
			server = *settings.ServerURL
		}
	}
	if err := addServer(&c, jitsiKind, "settings.serverURL", server); err != nil {
		return Connection{}, err
	}
	if top.RecentList != nil {
		var recent struct {
			RecentList []struct {
				ServerURL string `json:"serverURL"`
			} `json:"recentList"`
		}
		if err := decodeJSON(jitsiKind, []byte(*top.RecentList), &recent); err != nil {
			return Connection{}, prefixField(err, "recentList")
		}
		for i, e := range recent.RecentList {
			if e.ServerURL == "" {
				continue // the meeting ran on the configured server
			}
			field := "recentList.recentList[" + strconv.Itoa(i) + "].serverURL"
			if err := addServer(&c, jitsiKind, field, e.ServerURL); err != nil {
				return Connection{}, err
			}
		}
	}
	return normalize(c), nil
}

// prefixField puts the enclosing field in front of a FormatError's field.
func prefixField(err error, outer string) error {
	var fe *FormatError
	if !errors.As(err, &fe) {
		return fmt.Errorf("%s: %w", outer, err)
	}
	f := *fe
	if f.Field == "" {
		f.Field = outer
	} else {
		f.Field = outer + "." + f.Field
	}
	return &f
}
