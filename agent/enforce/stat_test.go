package enforce

import (
	"encoding/binary"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		line    string
		want    procStat
		wantErr bool
	}{{
		name: "sleep",
		line: "4242 (sleep) S 4241 4241 4241 0 -1 4194304 91 0 0 0 0 0 0 0 20 0 1 0 123456 8425472 245 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n",
		want: procStat{State: 'S', PPID: 4241, StartTicks: 123456},
	}, {
		name: "comm with spaces and parentheses",
		line: "7 (a) b (c)) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0",
		want: procStat{State: 'Z', PPID: 1, StartTicks: 99},
	}, {
		name:    "too short",
		line:    "7 (a) S 1 7 7",
		wantErr: true,
	}, {
		name:    "no comm",
		line:    "7 a S 1",
		wantErr: true,
	}, {
		name:    "bad state",
		line:    "7 (a) SS 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0",
		wantErr: true,
	}, {
		name:    "bad start",
		line:    "7 (a) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 x 0 0",
		wantErr: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStat([]byte(tt.line))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStat error = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("parseStat = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseBootTime(t *testing.T) {
	t.Parallel()
	got, err := parseBootTime([]byte("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"))
	if err != nil || got != 1700000000 {
		t.Errorf("parseBootTime = %d, %v; want 1700000000", got, err)
	}
	if _, err := parseBootTime([]byte("cpu 1\n")); err == nil {
		t.Error("parseBootTime without btime: no error")
	}
}

func TestSameStart(t *testing.T) {
	t.Parallel()
	started := linuxStarted(1700000000, 12345) // 123.45 s after boot
	key := int64(1700000123450)
	if started.UnixMilli() != key {
		t.Fatalf("linuxStarted = %d ms, want %d", started.UnixMilli(), key)
	}
	tests := []struct {
		key   int64
		slack time.Duration
		want  bool
	}{
		{key, 0, true},
		{key + 1, 0, false},
		{key - 1000, time.Second, true}, // boot time read a second apart
		{key + 1000, time.Second, true},
		{key + 1001, time.Second, false},
		{key + int64(time.Hour/time.Millisecond), time.Second, false},
	}
	for _, tt := range tests {
		if got := sameStart(tt.key, started, tt.slack); got != tt.want {
			t.Errorf("sameStart(%d, %d, %v) = %v, want %v", tt.key, key, tt.slack, got, tt.want)
		}
	}
}

func TestSameExe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		want, got string
		same      bool
	}{
		{"/opt/zoom/zoom", "/opt/zoom/zoom", true},
		{"/opt/zoom/zoom", "/opt/zoom/zoom (deleted)", true},
		{"/opt/zoom/zoom (deleted)", "/opt/zoom/zoom", true},
		{"/opt/zoom/zoom", "/opt/zoom/zoomer", false},
		{"/opt/zoom/zoom", "/usr/bin/zoom", false},
	}
	for _, tt := range tests {
		if got := sameExe(tt.want, tt.got); got != tt.same {
			t.Errorf("sameExe(%q, %q) = %v, want %v", tt.want, tt.got, got, tt.same)
		}
	}
}

func TestParseProcArgs2(t *testing.T) {
	t.Parallel()
	value := func(argc int32, rest string) []byte {
		b := binary.LittleEndian.AppendUint32(nil, uint32(argc))
		return append(b, rest...)
	}
	tests := []struct {
		name    string
		b       []byte
		want    string
		wantErr bool
	}{
		{"app", value(2, "/Applications/zoom.us.app/Contents/MacOS/zoom.us\x00\x00\x00zoom.us\x00-x\x00HOME=/\x00"), "/Applications/zoom.us.app/Contents/MacOS/zoom.us", false},
		{"short", []byte{1, 0}, "", true},
		{"negative argc", value(-1, "/a\x00"), "", true},
		{"unterminated", value(1, "/a"), "", true},
		{"empty path", value(1, "\x00/a\x00"), "", true},
	}
	for _, tt := range tests {
		got, err := parseProcArgs2(tt.b)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: parseProcArgs2 = %q, %v; want %q, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}
