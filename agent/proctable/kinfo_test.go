package proctable

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

// procArgs2 builds a kern.procargs2 value as the macOS kernel lays it out:
// argc, the executable path, NUL padding to a word boundary, argv, the
// environment, an empty string, then the apple strings.
func procArgs2(argc int32, path string, pad int, strs ...string) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, argc)
	b.WriteString(path)
	b.WriteByte(0)
	b.Write(make([]byte, pad))
	for _, s := range strs {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.Bytes()
}

func TestParseProcArgs2(t *testing.T) {
	t.Parallel()
	const zoom = "/Applications/zoom.us.app/Contents/MacOS/zoom.us"
	tests := []struct {
		name    string
		in      []byte
		want    string
		wantErr string
	}{
		{
			name: "app with arguments, environment and apple strings",
			in: procArgs2(2, zoom, 3, zoom, "-psn_0_12345",
				"HOME=/Users/ana", "PATH=/usr/bin:/bin", "",
				"executable_path="+zoom, "ptr_munge=", "main_stack="),
			want: zoom,
		},
		{
			name: "path with spaces and no padding",
			in:   procArgs2(1, "/Applications/Microsoft Teams.app/Contents/MacOS/MSTeams", 0, "MSTeams"),
			want: "/Applications/Microsoft Teams.app/Contents/MacOS/MSTeams",
		},
		{
			name: "argv[0] differs from the path",
			in:   procArgs2(1, "/usr/libexec/Slack Helper", 7, "Slack Helper (Renderer)", "--type=renderer"),
			want: "/usr/libexec/Slack Helper",
		},
		{
			name: "path at the very end, nothing after its NUL",
			in:   procArgs2(0, "/bin/sh", 0),
			want: "/bin/sh",
		},
		{
			name: "UTF-8 path",
			in:   procArgs2(1, "/Applications/Zoom – Büro.app/Contents/MacOS/zoom.us", 2, "zoom.us"),
			want: "/Applications/Zoom – Büro.app/Contents/MacOS/zoom.us",
		},
		{name: "empty", in: nil, wantErr: "too short"},
		{name: "argc only, truncated", in: []byte{1, 0, 0}, wantErr: "too short"},
		{name: "argc and nothing else", in: []byte{1, 0, 0, 0}, wantErr: "not NUL-terminated"},
		{name: "path without NUL", in: append([]byte{1, 0, 0, 0}, "/bin/sh"...), wantErr: "not NUL-terminated"},
		{name: "empty path", in: procArgs2(1, "", 4, "sh"), wantErr: "empty executable path"},
		{name: "relative path", in: procArgs2(1, "./zoom.us", 0, "./zoom.us"), wantErr: "not absolute"},
		{name: "negative argc", in: procArgs2(-1, "/bin/sh", 0), wantErr: "negative argc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseProcArgs2(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseProcArgs2 = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseProcArgs2: %v", err)
			}
			if got != tt.want {
				t.Errorf("parseProcArgs2 = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParseProcArgs2(f *testing.F) {
	f.Add(procArgs2(2, "/Applications/zoom.us.app/Contents/MacOS/zoom.us", 3, "zoom.us", "-x", "HOME=/", "", "executable_path=/x"))
	f.Add(procArgs2(0, "/bin/sh", 0))
	f.Add(procArgs2(1, "rel", 1, "rel"))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, '/', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		path, err := ParseProcArgs2(b)
		if !bytes.Equal(b, orig) {
			t.Fatal("parseProcArgs2 modified its input")
		}
		if err != nil {
			if path != "" {
				t.Fatalf("parseProcArgs2 returned %q with error %v", path, err)
			}
			return
		}
		if path == "" || path[0] != '/' || strings.IndexByte(path, 0) >= 0 {
			t.Fatalf("parseProcArgs2 returned an invalid path %q", path)
		}
		// The path is the bytes right after argc, up to the first NUL.
		if !bytes.HasPrefix(b[4:], append([]byte(path), 0)) {
			t.Fatalf("parseProcArgs2 returned %q, not the string after argc in %q", path, b)
		}
	})
}

// The cases enforce and appid each tested against their own copy.
func TestParseProcArgs2Copies(t *testing.T) {
	t.Parallel()
	value := func(argc int32, rest string) []byte {
		b := binary.LittleEndian.AppendUint32(nil, uint32(argc))
		return append(b, rest...)
	}
	tests := []struct {
		name    string
		b       []byte
		want    string
		wantErr string
	}{
		{"app", value(2, "/Applications/zoom.us.app/Contents/MacOS/zoom.us\x00\x00\x00zoom.us\x00-x\x00HOME=/\x00"), "/Applications/zoom.us.app/Contents/MacOS/zoom.us", ""},
		{"typical", value(2, "/Applications/zoom.us.app/Contents/MacOS/zoom.us\x00\x00\x00\x00zoom.us\x00-psn\x00HOME=/x\x00"), "/Applications/zoom.us.app/Contents/MacOS/zoom.us", ""},
		{"no padding", value(0, "/usr/bin/true\x00"), "/usr/bin/true", ""},
		{"short", []byte{1, 0}, "", "too short"},
		{"negative argc", value(-1, "/a\x00"), "", "negative argc"},
		{"unterminated", value(1, "/a"), "", "not NUL-terminated"},
		{"not terminated", value(1, "/usr/bin/true"), "", "not NUL-terminated"},
		{"empty path", value(1, "\x00/a\x00"), "", "empty executable path"},
		{"empty path, padding", value(1, "\x00\x00"), "", "empty executable path"},
	}
	for _, tt := range tests {
		got, err := ParseProcArgs2(tt.b)
		if tt.wantErr != "" {
			if err == nil || got != "" || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: ParseProcArgs2 = %q, %v; want an error containing %q", tt.name, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: ParseProcArgs2 = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// kinfoRecord builds one kinfo_proc as sysctl kern.proc.* returns it.
func kinfoRecord(pid, ppid int32, stat byte, sec int64, usec int32, comm string, ruid uint32) []byte {
	b := make([]byte, kinfoSize)
	le := binary.LittleEndian
	le.PutUint64(b[kinfoStartSec:], uint64(sec))
	le.PutUint32(b[kinfoStartUsec:], uint32(usec))
	b[kinfoStat] = stat
	le.PutUint32(b[kinfoPID:], uint32(pid))
	copy(b[kinfoComm:kinfoComm+kinfoCommLen-1], comm)
	le.PutUint32(b[kinfoRUID:], ruid)
	le.PutUint32(b[kinfoEUID:], ruid+1000) // a set-uid process: another effective uid
	le.PutUint32(b[kinfoPPID:], uint32(ppid))
	return b
}

func TestDecodeKinfoList(t *testing.T) {
	t.Parallel()
	const sRun = 2
	var all []byte
	all = append(all, kinfoRecord(0, 0, sRun, 1700000000, 0, "kernel_task", 0)...)
	all = append(all, kinfoRecord(1, 0, sRun, 1700000000, 5, "launchd", 0)...)
	all = append(all, kinfoRecord(4242, 1, sRun, 1700000123, 450000, "zoom.us-and-a-very-long-name", 501)...)
	all = append(all, kinfoRecord(4243, 4242, sZomb, 1700000124, 0, "zombie", 501)...)
	got, err := decodeKinfoList(all)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{ID: ID{PID: 1, Start: 1700000000_000005}, PPID: 0, Name: "launchd"},
		{ID: ID{PID: 4242, Start: 1700000123_450000}, PPID: 1, Name: "zoom.us-and-a-ve"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("decodeKinfoList = %+v, want %+v", got, want)
	}
	if ms := DarwinStartTime(got[1].Start).UnixMilli(); ms != 1700000123450 {
		t.Errorf("DarwinStartTime = %d ms, want 1700000123450", ms)
	}
	k, err := decodeKinfo(all[2*kinfoSize:])
	if err != nil || k.RUID != 501 || k.EUID != 1501 || k.Zombie {
		t.Errorf("decodeKinfo = %+v, %v; want ruid 501, euid 1501, not a zombie", k, err)
	}
	if _, err := decodeKinfoList(all[:kinfoSize+1]); err == nil {
		t.Error("decodeKinfoList of a partial record: no error")
	}
	if _, err := decodeKinfo(all[:kinfoSize-1]); err == nil {
		t.Error("decodeKinfo of a short record: no error")
	}
}
