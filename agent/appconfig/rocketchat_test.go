package appconfig

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseRocketChatConfig(t *testing.T) {
	t.Parallel()
	conn := func(servers ...string) Connection {
		return Connection{AppID: "rocket-chat", Source: rocketChatKind, Servers: servers}
	}
	runParserCases(t, rocketChatKind, parseRocketChatConfig, []parserCase{
		{
			// Written with conf 10.2.0 in the shape the app persists
			// (testdata/README.md): two servers and a Jitsi server.
			name:  "written with conf 10.2.0",
			input: readFixture(t, "rocket-chat", "config-conf-10.2.0.json"),
			want:  conn("chat.example.org", "meet.example.org", "open.rocket.chat"),
		},
		{
			// A real file of version 3.8.7 before any server was added.
			name:  "recorded 3.8.7, no server yet",
			input: readFixture(t, "rocket-chat", "config-3.8.7-no-server.json"),
			want:  conn(),
		},
		{
			// The current server is always one of servers[]; before 3.1.0
			// it was currentServerUrl. Neither adds a server.
			name:  "current server alone",
			input: []byte(`{"currentServerUrl":"https://old.example.org/","currentView":{"url":"https://x.example.org/"},"lastSelectedServerUrl":"https://y.example.org/"}`),
			want:  conn(),
		},
		{
			name:  "Jitsi server with a port",
			input: []byte(`{"servers":[{"url":"https://chat.example.org/sub/"}],"allowedJitsiServers":{"jitsi.example.net:8443":false}}`),
			want:  conn("chat.example.org", "jitsi.example.net"),
		},
		{name: "not JSON", input: []byte(`{"servers":[`), wantErr: true},
		{name: "servers not a list", input: []byte(`{"servers":{}}`), wantErr: true, wantField: "servers"},
		{name: "url not text", input: []byte(`{"servers":[{"url":1}]}`), wantErr: true, wantField: "servers.url"},
		{name: "url missing", input: []byte(`{"servers":[{"url":"https://a.example"},{"title":"x"}]}`), wantErr: true, wantField: "servers[1].url"},
		{name: "bad url", input: []byte(`{"servers":[{"url":"https://a b/"}]}`), wantErr: true, wantField: "servers[0].url"},
		{name: "Jitsi servers not an object", input: []byte(`{"allowedJitsiServers":[]}`), wantErr: true, wantField: "allowedJitsiServers"},
		{name: "bad Jitsi server", input: []byte(`{"allowedJitsiServers":{"a.example":true,"b ad":true}}`), wantErr: true, wantField: "allowedJitsiServers key 2 of 2"},
	})
}

// The fixture holds a room path and a server's unique id; only hosts come
// out.
func TestRocketChatKeepsHostsOnly(t *testing.T) {
	t.Parallel()
	b := readFixture(t, "rocket-chat", "config-conf-10.2.0.json")
	for _, s := range []string{"PrivateTeamRoom", "00000000-0000-4000-8000-000000000001"} {
		if !strings.Contains(string(b), s) {
			t.Fatalf("fixture lacks %q", s)
		}
	}
	c, err := parseRocketChatConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%+v", c)
	for _, s := range []string{"PrivateTeamRoom", "group", "00000000", "https", "Example Chat"} {
		if strings.Contains(got, s) {
			t.Errorf("result %s carries %q", got, s)
		}
	}
}

func FuzzParseRocketChatConfig(f *testing.F) {
	fuzzParser(f, parseRocketChatConfig,
		readFixture(f, "rocket-chat", "config-conf-10.2.0.json"),
		readFixture(f, "rocket-chat", "config-3.8.7-no-server.json"),
		[]byte(`{"servers":[{"url":"chat.example.org:3000"}],"allowedJitsiServers":{"meet.example.org":true}}`))
}
