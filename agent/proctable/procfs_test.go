package proctable

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		line    string
		want    Stat
		wantErr bool
	}{{
		name: "sleep",
		line: "4242 (sleep) S 4241 4241 4241 0 -1 4194304 91 0 0 0 0 0 0 0 20 0 1 0 123456 8425472 245 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n",
		want: Stat{Comm: "sleep", State: 'S', PPID: 4241, StartTicks: 123456},
	}, {
		name: "comm with spaces and parentheses",
		line: "7 (a) b (c)) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0",
		want: Stat{Comm: "a) b (c)", State: 'Z', PPID: 1, StartTicks: 99},
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
			got, err := ParseStat([]byte(tt.line))
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
	got, err := ParseBootTime([]byte("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"))
	if err != nil || got != 1700000000 {
		t.Errorf("parseBootTime = %d, %v; want 1700000000", got, err)
	}
	if _, err := ParseBootTime([]byte("cpu 1\n")); err == nil {
		t.Error("parseBootTime without btime: no error")
	}
}

func TestLinuxStartTime(t *testing.T) {
	t.Parallel()
	started := LinuxStartTime(1700000000, 12345) // 123.45 s after boot
	if key := int64(1700000123450); started.UnixMilli() != key {
		t.Fatalf("LinuxStartTime = %d ms, want %d", started.UnixMilli(), key)
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
		if got := SameExe(tt.want, tt.got); got != tt.same {
			t.Errorf("SameExe(%q, %q) = %v, want %v", tt.want, tt.got, got, tt.same)
		}
	}
}

func TestParseStatusUID(t *testing.T) {
	t.Parallel()
	status := "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t12\nUid:\t1000\t1001\t1002\t1003\nGid:\t100\t100\t100\t100\n"
	if uid, ok := ParseStatusUID([]byte(status)); !ok || uid != 1000 {
		t.Errorf("ParseStatusUID = %d, %v; want 1000 (the real UID)", uid, ok)
	}
	if uid, euid, ok := ParseStatusUIDs([]byte(status)); !ok || uid != 1000 || euid != 1001 {
		t.Errorf("ParseStatusUIDs = %d, %d, %v; want 1000, 1001 (real, effective)", uid, euid, ok)
	}
	for _, bad := range []string{"", "Name:\tx\n", "Uid:\n", "Uid:\tabc\t0\n", "Uid:\t-1\t0\n", "Uid:\t0\t-1\n", "Uid:\t1000\n"} {
		if uid, ok := ParseStatusUID([]byte(bad)); ok {
			t.Errorf("ParseStatusUID(%q) = %d, true; want false", bad, uid)
		}
	}
}

func TestParsePIDName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]int32{"1": 1, "4242": 4242, "2147483647": 2147483647} {
		if got, ok := ParsePIDName([]byte(name)); !ok || got != want {
			t.Errorf("ParsePIDName(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	for _, name := range []string{"", "0", "self", "+1", "-1", "2147483648", "12345678901", "1a"} {
		if got, ok := ParsePIDName([]byte(name)); ok {
			t.Errorf("ParsePIDName(%q) = %d, true; want false", name, got)
		}
	}
}

// dirent builds a linux_dirent64 record as getdents64 fills it.
func dirent(name string) []byte {
	reclen := (19 + len(name) + 1 + 7) &^ 7
	b := make([]byte, reclen)
	binary.LittleEndian.PutUint64(b, 1)
	binary.LittleEndian.PutUint16(b[16:], uint16(reclen))
	b[18] = 4 // DT_DIR
	copy(b[19:], name)
	return b
}

func TestAppendDirentPIDs(t *testing.T) {
	t.Parallel()
	var buf []byte
	for _, n := range []string{".", "..", "1", "self", "4242", "+7", "sys", "31337"} {
		buf = append(buf, dirent(n)...)
	}
	got := AppendDirentPIDs([]int32{9}, buf)
	if want := []int32{9, 1, 4242, 31337}; !slices.Equal(got, want) {
		t.Errorf("AppendDirentPIDs = %v, want %v", got, want)
	}
	// A truncated or corrupt record ends the walk without a panic.
	if got := AppendDirentPIDs(nil, buf[:len(buf)-3]); len(got) != 2 {
		t.Errorf("truncated: AppendDirentPIDs = %v, want the first 2 PIDs", got)
	}
	bad := dirent("1")
	binary.LittleEndian.PutUint16(bad[16:], 5)
	if got := AppendDirentPIDs(nil, bad); len(got) != 0 {
		t.Errorf("reclen 5: AppendDirentPIDs = %v, want none", got)
	}
}

func FuzzForEachDirent(f *testing.F) {
	f.Add(append(dirent("1"), dirent("self")...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ForEachDirent(b, func(name []byte) {
			if len(name) == 0 || bytes.IndexByte(name, 0) >= 0 {
				t.Fatalf("name %q", name)
			}
		})
	})
}
