package appconfig

// Element Desktop (github.com/element-hq/element-desktop) reads
// <userData>/config.json on top of the config built into the app
// (src/electron-main.ts: LocalConfigFilename "config.json" in
// app.getPath("userData"), <appData>/Element from productName "Element",
// or the legacy <appData>/Riot when only that exists). Its homeserver
// settings (element-web docs/config.md) are:
//
//	default_server_config["m.homeserver"].base_url  the homeserver URL
//	default_server_name  a server whose https://<name>/.well-known/matrix/client
//	                     names the homeserver (the host is contacted)
//	default_hs_url       the deprecated homeserver URL
//
// (default_server_config["m.homeserver"].server_name is "for display
// purposes only" and is not read), and its voice and video calls use the
// Jitsi server jitsi.preferredDomain ("used whenever a user clicks on the
// voice/video call buttons"), which is a server too.
//
// The homeserver of the signed-in session is read too, from the web app's
// local storage (element_session.go). config.json and the session are two
// sources; Connection.Source names each that was found ("Element
// config.json, Element signed-in session"), so a session on another
// homeserver than the configured default shows as one more server, with
// the session named as a source.
const elementKind = "Element config.json"

func elementReader() Reader { return elementReaderFor(elementOrigin) }

// elementReaderFor builds the reader for a local storage origin: the app's
// is vector://vector (elementOrigin), which Chromium cannot serve to a
// recording page, so tests read profiles recorded under another origin.
func elementReaderFor(origin string) Reader {
	userData := electronUserData("Element", "im.riot.Riot", "element-desktop")
	legacy := electronUserData("Riot", "", "")
	dirs := osPaths{
		Linux:   append(userData.Linux, legacy.Linux...),
		Windows: append(userData.Windows, legacy.Windows...),
		Darwin:  append(userData.Darwin, legacy.Darwin...),
	}
	return appReader{id: "element", sources: []fileSource{
		{kind: elementKind, paths: dirs.join("config.json"), read: configFile(parseElementConfig)},
		{kind: elementSessionKind, paths: dirs, read: func(dir string, uid int) (Connection, error) {
			return readElementSession(dir, uid, origin)
		}},
	}}
}

// parseElementConfig returns the servers an Element config.json names.
func parseElementConfig(b []byte) (Connection, error) {
	var cfg struct {
		DefaultServerConfig struct {
			Homeserver struct {
				BaseURL string `json:"base_url"`
			} `json:"m.homeserver"`
		} `json:"default_server_config"`
		DefaultServerName string `json:"default_server_name"`
		DefaultHSURL      string `json:"default_hs_url"`
		Jitsi             struct {
			PreferredDomain string `json:"preferredDomain"`
		} `json:"jitsi"`
	}
	if err := decodeJSON(elementKind, b, &cfg); err != nil {
		return Connection{}, err
	}
	c := Connection{AppID: "element", Source: elementKind}
	for _, f := range []struct{ field, value string }{
		{"default_server_config.m.homeserver.base_url", cfg.DefaultServerConfig.Homeserver.BaseURL},
		{"default_server_name", cfg.DefaultServerName},
		{"default_hs_url", cfg.DefaultHSURL},
		{"jitsi.preferredDomain", cfg.Jitsi.PreferredDomain},
	} {
		if f.value == "" {
			continue
		}
		if err := addServer(&c, elementKind, f.field, f.value); err != nil {
			return Connection{}, err
		}
	}
	return normalize(c), nil
}
