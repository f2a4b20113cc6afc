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
// The homeserver of the signed-in session is kept in the web app's local
// storage (mx_hs_url) under the app's vector://vector origin; no recorded
// sample of that was available, so it is not read.
const elementKind = "Element config.json"

func elementReader() Reader {
	userData := electronUserData("Element", "im.riot.Riot", "element-desktop")
	legacy := electronUserData("Riot", "", "")
	return appReader{id: "element", sources: []fileSource{{
		kind: elementKind,
		paths: osPaths{
			Linux:   append(userData.Linux, legacy.Linux...),
			Windows: append(userData.Windows, legacy.Windows...),
			Darwin:  append(userData.Darwin, legacy.Darwin...),
		}.join("config.json"),
		read: configFile(parseElementConfig),
	}}}
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
