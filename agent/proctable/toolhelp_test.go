package proctable

import (
	"encoding/binary"
	"testing"
	"time"
	"unicode/utf16"
)

// processEntry32 builds a PROCESSENTRY32W as Process32Next fills it.
func processEntry32(pid, ppid uint32, exe string) []byte {
	b := make([]byte, pe32Size)
	le := binary.LittleEndian
	le.PutUint32(b, pe32Size)
	le.PutUint32(b[pe32PID:], pid)
	le.PutUint32(b[pe32PPID:], ppid)
	for i, c := range utf16.Encode([]rune(exe)) {
		if i == pe32MaxPath-1 {
			break
		}
		le.PutUint16(b[pe32ExeFile+2*i:], c)
	}
	return b
}

func TestDecodeProcessEntry32(t *testing.T) {
	t.Parallel()
	long := string(make([]rune, 300))
	tests := []struct {
		name   string
		b      []byte
		want   Entry
		ok     bool
		errors bool
	}{
		{"zoom", processEntry32(4242, 1000, "Zoom.exe"), Entry{ID: ID{PID: 4242}, PPID: 1000, Name: "Zoom.exe"}, true, false},
		{"non-ASCII", processEntry32(7, 4, "Büro – Teams.exe"), Entry{ID: ID{PID: 7}, PPID: 4, Name: "Büro – Teams.exe"}, true, false},
		{"idle", processEntry32(0, 0, "[System Process]"), Entry{Name: "[System Process]"}, false, false},
		{"unterminated name", processEntry32(9, 4, long), Entry{ID: ID{PID: 9}, PPID: 4, Name: ""}, true, false},
		{"short", make([]byte, pe32Size-1), Entry{}, false, true},
	}
	for _, tt := range tests {
		got, ok, err := decodeProcessEntry32(tt.b)
		if (err != nil) != tt.errors || ok != tt.ok || (err == nil && got != tt.want) {
			t.Errorf("%s: decodeProcessEntry32 = %+v, %v, %v; want %+v, %v, error %v", tt.name, got, ok, err, tt.want, tt.ok, tt.errors)
		}
	}
}

func TestFiletimeTime(t *testing.T) {
	t.Parallel()
	// 2024-01-01T00:00:00.1234567Z as a FILETIME.
	const ft = 133485408001234567
	want := time.Date(2024, 1, 1, 0, 0, 0, 123456700, time.UTC)
	if got := FiletimeTime(ft); !got.Equal(want) {
		t.Errorf("FiletimeTime = %v, want %v", got.UTC(), want)
	}
}
