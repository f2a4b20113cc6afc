package appconfig

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readFixture(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parserCase is one input of a parser: a fixture file or, for malformed
// input, inline bytes.
type parserCase struct {
	name      string
	input     []byte
	want      Connection
	wantField string // for errors: the field the FormatError must name
	wantErr   bool
}

func runParserCases(t *testing.T, kind string, parse func([]byte) (Connection, error), cases []parserCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(tt.input)
			if tt.wantErr {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("err = %v, want a FormatError", err)
				}
				if fe.Kind != kind || fe.Field != tt.wantField {
					t.Errorf("error names kind %q field %q, want %q field %q (%v)", fe.Kind, fe.Field, kind, tt.wantField, err)
				}
				if !strings.HasPrefix(err.Error(), kind) {
					t.Errorf("error %q does not start with the file kind", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			checkConnection(t, got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseMattermostConfig(t *testing.T) {
	t.Parallel()
	conn := func(servers ...string) Connection {
		return Connection{AppID: "mattermost", Source: mattermostKind, Servers: servers}
	}
	runParserCases(t, mattermostKind, parseMattermostConfig, []parserCase{
		{name: "v1", input: readFixture(t, "mattermost", "config-v1.json"), want: conn("mattermost.example.org")},
		{name: "v2", input: readFixture(t, "mattermost", "config-v2.json"), want: conn("chat.example.net")},
		{name: "v3", input: readFixture(t, "mattermost", "config-v3.json"), want: conn("mattermost.example.com")},
		{name: "v4", input: readFixture(t, "mattermost", "config-v4.json"), want: conn("mattermost.example.org")},
		{name: "v0", input: []byte(`{"version":0,"url":"https://mm.example.org/team"}`), want: conn("mm.example.org")},
		{name: "v4 empty", input: []byte(`{"version":4,"servers":[]}`), want: conn()},
		{name: "not JSON", input: []byte(`{"version":4,`), wantErr: true},
		{name: "no version", input: []byte(`{"servers":[]}`), wantErr: true, wantField: "version"},
		{name: "version text", input: []byte(`{"version":"4"}`), wantErr: true, wantField: "version"},
		{name: "future version", input: []byte(`{"version":5}`), wantErr: true, wantField: "version"},
		{name: "servers not a list", input: []byte(`{"version":4,"servers":{}}`), wantErr: true, wantField: "servers"},
		{name: "url not text", input: []byte(`{"version":4,"servers":[{"url":7}]}`), wantErr: true, wantField: "servers.url"},
		{name: "bad url", input: []byte(`{"version":3,"teams":[{"url":"https://ok.example"},{"url":"https://bad host/"}]}`), wantErr: true, wantField: "teams[1].url"},
	})
}

func TestParseElementConfig(t *testing.T) {
	t.Parallel()
	conn := func(servers ...string) Connection {
		return Connection{AppID: "element", Source: elementKind, Servers: servers}
	}
	runParserCases(t, elementKind, parseElementConfig, []parserCase{
		{name: "homeserver and jitsi", input: readFixture(t, "element", "config-homeserver.json"), want: conn("jitsi.riot.im", "matrix.example.org")},
		{name: "release build config", input: readFixture(t, "element", "config-release.json"), want: conn("matrix-client.matrix.org", "matrix.org")},
		{name: "themes only", input: readFixture(t, "element", "config-themes-only.json"), want: conn()},
		{name: "legacy hs url", input: []byte(`{"default_hs_url":"https://hs.example.org:8448"}`), want: conn("hs.example.org")},
		{name: "not JSON", input: []byte(`[`), wantErr: true},
		{name: "homeserver not an object", input: []byte(`{"default_server_config":{"m.homeserver":"x"}}`), wantErr: true, wantField: "default_server_config.m.homeserver"},
		{name: "bad base url", input: []byte(`{"default_server_config":{"m.homeserver":{"base_url":"https://"}}}`), wantErr: true, wantField: "default_server_config.m.homeserver.base_url"},
	})
}

func TestParseTeamsDesktopConfig(t *testing.T) {
	t.Parallel()
	const tenant = "00000000-0000-4000-8000-00000000e1d0"
	runParserCases(t, teamsClassicKind, parseTeamsDesktopConfig, []parserCase{
		{
			name:  "signed-in work account",
			input: readFixture(t, "microsoft-teams-classic", "desktop-config.json"),
			want: Connection{AppID: "microsoft-teams-classic", Source: teamsClassicKind,
				Accounts: []Account{{Kind: KindWork, Domain: "example.org", Tenant: tenant}}},
		},
		{
			name:  "preset before sign-in",
			input: readFixture(t, "microsoft-teams-classic", "desktop-config-preset.json"),
			want:  Connection{AppID: "microsoft-teams-classic", Source: teamsClassicKind},
		},
		{
			// The consumer tenant is what Microsoft documents for personal
			// accounts; no recorded personal desktop-config.json was found.
			name:  "consumer tenant",
			input: []byte(`{"upnWindowUserUpn":"someone@outlook.com","userTid":"9188040D-6C67-4C5B-B112-36A304B66DAD"}`),
			want: Connection{AppID: "microsoft-teams-classic", Source: teamsClassicKind,
				Accounts: []Account{{Kind: KindPersonal, Domain: "outlook.com", Tenant: ConsumerTenantID}}},
		},
		{
			name:  "logged out",
			input: []byte(`{"isLoggedOut":true,"userTid":"` + tenant + `"}`),
			want:  Connection{AppID: "microsoft-teams-classic", Source: teamsClassicKind},
		},
		{name: "not JSON", input: []byte(`{"userTid":`), wantErr: true},
		{name: "tenant not a GUID", input: []byte(`{"userTid":"contoso"}`), wantErr: true, wantField: "userTid"},
		{name: "upn without domain", input: []byte(`{"userTid":"` + tenant + `","userUpn":"alice"}`), wantErr: true, wantField: "userTid user name"},
		{name: "accounts not an object", input: []byte(`{"userAccounts":[]}`), wantErr: true, wantField: "userAccounts"},
	})
}

func TestParseTeamsRealFileKeepsNoPersonalData(t *testing.T) {
	t.Parallel()
	c, err := parseTeamsDesktopConfig(readFixture(t, "microsoft-teams-classic", "desktop-config.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ToLower(strings.Join(c.Servers, " ") + " " + c.Accounts[0].Domain)
	if strings.Contains(s, "user2") || strings.Contains(s, "@") {
		t.Errorf("result carries a user name: %+v", c)
	}
}

func TestParseZoomConf(t *testing.T) {
	t.Parallel()
	runParserCases(t, zoomKind, parseZoomConf, []parserCase{
		{
			name:  "cluster and vendor default",
			input: readFixture(t, "zoom", "zoomus.conf"),
			want: Connection{AppID: "zoom", Source: zoomKind, Servers: []string{"us04web.zoom.us", "zoom.us"},
				Accounts: []Account{{Kind: KindUnknown, Domain: "example.com"}}},
		},
		{
			name:  "university address",
			input: readFixture(t, "zoom", "zoomus-university.conf"),
			want: Connection{AppID: "zoom", Source: zoomKind, Servers: []string{"zoom.us"},
				Accounts: []Account{{Kind: KindUnknown, Domain: "mail.example.edu"}}},
		},
		{
			name:  "other sections ignored",
			input: []byte("[Other]\nconf.webserver=https://x.example\n[General]\nlogLevel=info\n"),
			want:  Connection{AppID: "zoom", Source: zoomKind},
		},
		{name: "bad section", input: []byte("[General\n"), wantErr: true},
		{name: "not key=value", input: []byte("[General]\njunk\n"), wantErr: true},
		{name: "bad web server", input: []byte("[General]\nconf.webserver=https://bad host\n"), wantErr: true, wantField: "General.conf.webserver"},
		{name: "bad address", input: []byte("[General]\nuserEmailAddress=nobody\n"), wantErr: true, wantField: "General.userEmailAddress"},
	})
}

func TestParseZoomChatPlist(t *testing.T) {
	t.Parallel()
	conn := func(servers ...string) Connection {
		return Connection{AppID: "zoom", Source: zoomPlistKind, Servers: servers}
	}
	const xmlHead = `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>`
	runParserCases(t, zoomPlistKind, parseZoomChatPlist, []parserCase{
		{name: "recorded web server and vendor default", input: readFixture(t, "zoom", "ZoomChat.plist"), want: conn("us05web.zoom.us", "zoom.us")},
		{name: "recorded without web server", input: readFixture(t, "zoom", "ZoomChat-no-server.plist"), want: conn()},
		{name: "XML vanity host", input: []byte(xmlHead + `<key>conf.webserver.vendor.default</key><string>https://example.zoom.us</string></dict></plist>`),
			want: conn("example.zoom.us")},
		{name: "empty value", input: []byte(xmlHead + `<key>conf.webserver</key><string></string></dict></plist>`), want: conn()},
		{name: "not a property list", input: []byte("[General]\nconf.webserver=https://zoom.us\n"), wantErr: true},
		{name: "top level not a dictionary", input: []byte(`<plist version="1.0"><array><string>a</string></array></plist>`), wantErr: true},
		{name: "web server not a string", input: []byte(xmlHead + `<key>conf.webserver</key><integer>1</integer></dict></plist>`),
			wantErr: true, wantField: "conf.webserver"},
		{name: "bad web server", input: []byte(xmlHead + `<key>conf.webserver.vendor.default</key><string>https://bad host</string></dict></plist>`),
			wantErr: true, wantField: "conf.webserver.vendor.default"},
	})
}

func TestParseJitsiPersistRoot(t *testing.T) {
	t.Parallel()
	publicValue, _ := readJitsiFixture(t, "leveldb-public")
	logValue, _ := readJitsiFixture(t, "leveldb-log")
	tableValue, _ := readJitsiFixture(t, "leveldb-table")
	conn := func(servers ...string) Connection {
		return Connection{AppID: "jitsi-meet", Source: jitsiKind, Servers: servers}
	}
	parse := func(b []byte) (Connection, error) { return parseJitsiPersistRoot(string(b)) }
	runParserCases(t, jitsiKind, parse, []parserCase{
		{name: "recorded meet.jit.si only", input: []byte(publicValue), want: conn("meet.jit.si")},
		{name: "recorded meet.jit.si and a recent meeting elsewhere", input: []byte(logValue), want: conn("jitsi.example.org", "meet.jit.si")},
		{name: "recorded own server and recent meetings", input: []byte(tableValue),
			want: conn("jitsi.example.org", "meet.jit.si", "video.example.net")},
		{name: "nothing saved: default server", input: nil, want: conn("meet.jit.si")},
		{name: "server never set", input: []byte(`{"settings":"{\"disableAGC\":false}","_persist":"{}"}`), want: conn("meet.jit.si")},
		{name: "recent meeting on the configured server", input: []byte(`{"recentList":"{\"recentList\":[{\"room\":\"r\"}]}","settings":"{\"serverURL\":\"meet.example.org\"}"}`),
			want: conn("meet.example.org")},
		{name: "not JSON", input: []byte(`{`), wantErr: true},
		{name: "settings not text", input: []byte(`{"settings":{}}`), wantErr: true, wantField: "settings"},
		{name: "settings not JSON", input: []byte(`{"settings":"{"}`), wantErr: true, wantField: "settings"},
		{name: "server url not text", input: []byte(`{"settings":"{\"serverURL\":1}"}`), wantErr: true, wantField: "settings.serverURL"},
		{name: "bad server url", input: []byte(`{"settings":"{\"serverURL\":\"https://a b\"}"}`), wantErr: true, wantField: "settings.serverURL"},
		{name: "bad recent url", input: []byte(`{"recentList":"{\"recentList\":[{\"serverURL\":\"https://ok.example\"},{\"serverURL\":\"https://\"}]}"}`),
			wantErr: true, wantField: "recentList.recentList[1].serverURL"},
	})
}

func TestJitsiNeverReportsRoomNames(t *testing.T) {
	t.Parallel()
	v, _ := readJitsiFixture(t, "leveldb-table")
	c, err := parseJitsiPersistRoot(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Servers {
		for _, room := range []string{"privateroomname", "besprechungsraum", "lobby", "base"} {
			if strings.Contains(s, room) {
				t.Errorf("server %q carries room or path %q", s, room)
			}
		}
	}
}

func fuzzParser(f *testing.F, parse func([]byte) (Connection, error), seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse(data)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FormatError", err)
			}
			return
		}
		checkConnection(t, c)
	})
}

func FuzzParseMattermostConfig(f *testing.F) {
	fuzzParser(f, parseMattermostConfig,
		readFixture(f, "mattermost", "config-v1.json"), readFixture(f, "mattermost", "config-v2.json"),
		readFixture(f, "mattermost", "config-v3.json"), readFixture(f, "mattermost", "config-v4.json"))
}

func FuzzParseElementConfig(f *testing.F) {
	fuzzParser(f, parseElementConfig,
		readFixture(f, "element", "config-homeserver.json"), readFixture(f, "element", "config-release.json"))
}

func FuzzParseTeamsDesktopConfig(f *testing.F) {
	fuzzParser(f, parseTeamsDesktopConfig,
		readFixture(f, "microsoft-teams-classic", "desktop-config.json"),
		readFixture(f, "microsoft-teams-classic", "desktop-config-preset.json"))
}

func FuzzParseZoomConf(f *testing.F) {
	fuzzParser(f, parseZoomConf, readFixture(f, "zoom", "zoomus.conf"), readFixture(f, "zoom", "zoomus-university.conf"))
}

func FuzzParseZoomChatPlist(f *testing.F) {
	fuzzParser(f, parseZoomChatPlist, readFixture(f, "zoom", "ZoomChat.plist"), readFixture(f, "zoom", "ZoomChat-no-server.plist"),
		[]byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>conf.webserver</key><string>https://example.zoom.us</string></dict></plist>`),
		[]byte(`{"conf.webserver" = "https://zoom.us";}`))
}

func FuzzParseJitsiPersistRoot(f *testing.F) {
	a, _ := readJitsiFixture(f, "leveldb-log")
	b, _ := readJitsiFixture(f, "leveldb-table")
	c, _ := readJitsiFixture(f, "leveldb-public")
	fuzzParser(f, func(data []byte) (Connection, error) { return parseJitsiPersistRoot(string(data)) }, []byte(a), []byte(b), []byte(c))
}
