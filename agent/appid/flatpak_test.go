package appid

import (
	"strings"
	"testing"
)

func TestParseFlatpakInfo(t *testing.T) {
	zoom := FlatpakInfo{
		Name:           "us.zoom.Zoom",
		Runtime:        "runtime/org.freedesktop.Platform/x86_64/23.08",
		AppPath:        "/var/lib/flatpak/app/us.zoom.Zoom/x86_64/stable/5c2b7d8a0e0f4f2bd0b6a2cfae7c3f1e52b5a1f8e1d54bd8f7e2f2b3f5e9c1d0/files",
		AppCommit:      "5c2b7d8a0e0f4f2bd0b6a2cfae7c3f1e52b5a1f8e1d54bd8f7e2f2b3f5e9c1d0",
		Branch:         "stable",
		Arch:           "x86_64",
		FlatpakVersion: "1.14.10",
	}
	tests := []struct {
		name    string
		data    string
		want    FlatpakInfo
		wantErr string
	}{
		{name: "real layout", data: string(readTestdata(t, "flatpak/us.zoom.Zoom.flatpak-info")), want: zoom},
		{
			name: "runtime sandbox, comments, escapes, localised keys",
			data: "# comment\n[Runtime]\nname=org.freedesktop.Platform\nname[de]=Plattform\n\n[Instance]\nbranch=23.08\\sbeta\n",
			want: FlatpakInfo{Name: "org.freedesktop.Platform", IsRuntime: true, Branch: "23.08 beta"},
		},
		{name: "no name", data: "[Application]\nruntime=x\n", wantErr: "no name"},
		{name: "key before group", data: "name=x\n[Application]\n", wantErr: "line 1: key \"name\" before any [group]"},
		{name: "not key=value", data: "[Application]\nname us.zoom.Zoom\n", wantErr: "line 2: expected key=value"},
		{name: "bad group", data: "[Application\nname=x\n", wantErr: "line 1: bad group header"},
		{name: "empty key", data: "[Application]\n=x\n", wantErr: "line 2: empty key"},
		{name: "empty", data: "", wantErr: "no name"},
		{name: "too large", data: strings.Repeat("#", maxFlatpakInfoSize+1), wantErr: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFlatpakInfo([]byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseMetainfoVersion(t *testing.T) {
	tests := []struct {
		name, data, want, wantErr string
	}{
		{name: "flathub zoom", data: string(readTestdata(t, "flatpak/us.zoom.Zoom.metainfo.xml")), want: "6.2.11.5069"},
		{name: "newest by time, not order", data: string(readTestdata(t, "flatpak/unordered.metainfo.xml")), want: "1.2"},
		{
			name: "no dates: first listed",
			data: `<component><releases><release version="2.0"/><release version="1.0"/></releases></component>`,
			want: "2.0",
		},
		{
			name: "legacy appdata root, RFC 3339 date",
			data: `<?xml version="1.0"?><application><releases><release version="0.9" date="2019-01-01T10:00:00Z"/><release version="1.0" date="2020-01-01T10:00:00Z"/></releases></application>`,
			want: "1.0",
		},
		{
			name: "release outside <releases> ignored",
			data: `<component><release version="9.9"/><releases><release version="1.0"/></releases></component>`,
			want: "1.0",
		},
		{
			name:    "external releases",
			data:    `<component><releases type="external" url="https://example.org/releases.xml"/></component>`,
			wantErr: "no <release version=",
		},
		{name: "not metainfo", data: `<html><body/></html>`, wantErr: "root element is <html>"},
		{name: "malformed XML", data: "<component><releases><release version=\"1\"></component>", wantErr: "metainfo: line 1"},
		{name: "empty", data: "", wantErr: "no <component>"},
		{name: "too large", data: strings.Repeat(" ", maxMetainfoSize+1), wantErr: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMetainfoVersion([]byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseMetainfoVersion = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
