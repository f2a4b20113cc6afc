package appconfig

import "strconv"

// Mattermost Desktop (github.com/mattermost/desktop) keeps its servers in
// <userData>/config.json (src/main/constants.ts: configPath =
// `${userDataPath}/config.json`; userData is <appData>/Mattermost from
// productName "Mattermost"). The file's "version" selects its shape
// (src/types/config.ts; upgrades in src/common/config/upgradePreferences.ts):
//
//	0:    {"url": …}
//	1-3:  {"teams": [{"name", "url", …}]}
//	4:    {"servers": [{"name", "url", "order"}]}
//
// Servers an administrator predefines by policy (registry, MDM) are not in
// this file and are not read here.
const mattermostKind = "Mattermost config.json"

func mattermostReader() Reader {
	return appReader{id: "mattermost", sources: []fileSource{{
		kind: mattermostKind,
		paths: electronUserData("Mattermost", "com.mattermost.Desktop", "mattermost-desktop",
			// The Mac App Store build (bundle id Mattermost.Desktop) is sandboxed.
			"Library/Containers/Mattermost.Desktop/Data/Library/Application Support/Mattermost",
		).join("config.json"),
		read: configFile(parseMattermostConfig),
	}}}
}

type mattermostServer struct {
	URL string `json:"url"`
}

// parseMattermostConfig returns the servers in a Mattermost Desktop
// config.json of versions 0 to 4.
func parseMattermostConfig(b []byte) (Connection, error) {
	var cfg struct {
		Version *int               `json:"version"`
		URL     string             `json:"url"`
		Teams   []mattermostServer `json:"teams"`
		Servers []mattermostServer `json:"servers"`
	}
	if err := decodeJSON(mattermostKind, b, &cfg); err != nil {
		return Connection{}, err
	}
	c := Connection{AppID: "mattermost", Source: mattermostKind}
	if cfg.Version == nil {
		return Connection{}, formatErr(mattermostKind, "version", "missing")
	}
	var list []mattermostServer
	field := "teams"
	switch *cfg.Version {
	case 0:
		if cfg.URL == "" {
			return normalize(c), nil
		}
		if err := addServer(&c, mattermostKind, "url", cfg.URL); err != nil {
			return Connection{}, err
		}
		return normalize(c), nil
	case 1, 2, 3:
		list = cfg.Teams
	case 4:
		list, field = cfg.Servers, "servers"
	default:
		return Connection{}, formatErr(mattermostKind, "version", "unknown version %d (known: 0 to 4)", *cfg.Version)
	}
	for i, s := range list {
		if err := addServer(&c, mattermostKind, field+"["+strconv.Itoa(i)+"].url", s.URL); err != nil {
			return Connection{}, err
		}
	}
	return normalize(c), nil
}
