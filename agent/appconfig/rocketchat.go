package appconfig

import (
	"encoding/json"
	"slices"
	"strconv"
)

// Rocket.Chat Desktop (github.com/RocketChat/Rocket.Chat.Electron, read at
// commit 713204c544d21b7c9c22f17d29647d30a2e90cdb) persists its redux
// state with electron-store ~8.1.0 (package.json; yarn.lock resolves
// electron-store 8.1.0 and under it conf 10.2.0), created with no name or
// cwd (src/app/main/persistence.ts), so the file is electron-store's
// default <userData>/config.json: userData is <appData>/Rocket.Chat from
// productName "Rocket.Chat" (package.json); src/store/readSetting.ts and
// src/ui/main/menuBar.ts open the same path. conf writes the whole state
// as tab-indented JSON, with its migration version under
// __internal__.migrations.version.
//
// What is persisted is selectPersistableValues (src/app/selectors.ts). Read
// here:
//
//	servers[].url          the servers (workspaces) added to the app
//	                       (src/servers/common.ts Server.url). Servers an
//	                       administrator predefines in servers.json are
//	                       merged into this list at start (src/servers/main.ts).
//	allowedJitsiServers    keys: host names of the Jitsi servers the app's
//	                       video calls ran on, where the user answered the
//	                       screen-sharing question with "don't ask again"
//	                       (src/jitsi/main.ts, src/jitsi/reducers.ts);
//	                       servers as much as Element's Jitsi domain.
//
// The current server is kept apart (currentView {url}, lastSelectedServerUrl;
// currentServerUrl before 3.1.0, src/app/PersistableValues.ts migrations)
// but the app selects it from servers[], so it adds no server and is not
// read. Nothing in the file names the signed-in account: a server entry's
// userLoggedIn says only whether someone is signed in, so accounts are not
// read. Server entries may carry Outlook credentials (outlookCredentials);
// the decoder declares only the fields above, so nothing else is kept.
const rocketChatKind = "Rocket.Chat config.json"

func rocketChatReader() Reader {
	return appReader{id: "rocket-chat", sources: []fileSource{{
		kind: rocketChatKind,
		paths: electronUserData("Rocket.Chat", "chat.rocket.RocketChat", "rocketchat-desktop",
			// The Mac App Store build (appId chat.rocket, electron-builder.json
			// target "mas") is sandboxed: its userData is in its container.
			"Library/Containers/chat.rocket/Data/Library/Application Support/Rocket.Chat",
		).join("config.json"),
		read: configFile(parseRocketChatConfig),
	}}}
}

// parseRocketChatConfig returns the servers in a Rocket.Chat Desktop
// config.json.
func parseRocketChatConfig(b []byte) (Connection, error) {
	var cfg struct {
		Servers []struct {
			URL *string `json:"url"`
		} `json:"servers"`
		AllowedJitsiServers map[string]json.RawMessage `json:"allowedJitsiServers"`
	}
	if err := decodeJSON(rocketChatKind, b, &cfg); err != nil {
		return Connection{}, err
	}
	c := Connection{AppID: "rocket-chat", Source: rocketChatKind}
	for i, s := range cfg.Servers {
		field := "servers[" + strconv.Itoa(i) + "].url"
		if s.URL == nil {
			return Connection{}, formatErr(rocketChatKind, field, "missing")
		}
		if err := addServer(&c, rocketChatKind, field, *s.URL); err != nil {
			return Connection{}, err
		}
	}
	// Keys in sorted order, so the first bad one named is always the same.
	keys := make([]string, 0, len(cfg.AllowedJitsiServers))
	for k := range cfg.AllowedJitsiServers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		// The app stores url.hostname; url.host (with a port) is what it
		// compares against, so a port is accepted and dropped.
		h, err := hostOf(k)
		if err != nil {
			// The key is a host name from the file; name its place, not it.
			return Connection{}, formatErr(rocketChatKind, "allowedJitsiServers key "+strconv.Itoa(i+1)+" of "+strconv.Itoa(len(keys)), "%v", err)
		}
		c.Servers = append(c.Servers, h)
	}
	return normalize(c), nil
}
