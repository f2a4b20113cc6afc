package devices

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestFourCCConstants(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		got  fourCC
		want uint32
	}{
		{"glob", scopeGlobal, 0x676c6f62},
		{"inpt", scopeInput, 0x696e7074},
		{"dev#", selDevices, 0x64657623},
		{"gone", selRunningSomewhere, 0x676f6e65},
		{"slay", selStreamConfiguration, 0x736c6179},
		{"uid ", selDeviceUID, 0x75696420},
		{"lnam", selObjectName, 0x6c6e616d},
		{"prs#", selProcessObjectList, 0x70727323},
		{"ppid", selProcessPID, 0x70706964},
		{"pbid", selProcessBundleID, 0x70626964},
		{"piri", selProcessRunningInput, 0x70697269},
		{"pdv#", selProcessDevices, 0x70647623},
	} {
		if tc.got != tc.want || fourCCOf(tc.name) != tc.want {
			t.Errorf("%q: constant %#x, fourCCOf %#x, want %#x", tc.name, tc.got, fourCCOf(tc.name), tc.want)
		}
		if s := fourCCString(tc.got); s != "'"+tc.name+"'" {
			t.Errorf("fourCCString(%#x) = %s", tc.got, s)
		}
	}
	if fourCCOf("abc") != 0 || fourCCOf("abcde") != 0 {
		t.Error("fourCCOf accepts a code that is not four bytes")
	}
	if s := fourCCString(7); s != "7" {
		t.Errorf("fourCCString(7) = %s", s)
	}
}

func TestOSStatusString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		st   int32
		want string
	}{
		{0, "noErr"},
		{int32(fourCCOf("who?")), "kAudioHardwareUnknownPropertyError ('who?')"},
		{int32(fourCCOf("nope")), "kAudioHardwareIllegalOperationError ('nope')"},
		{int32(fourCCOf("abcd")), "OSStatus 'abcd'"},
		{-50, "OSStatus -50"},
	} {
		if got := osStatusString(tc.st); !strings.HasPrefix(got, tc.want) {
			t.Errorf("osStatusString(%d) = %q, want %q", tc.st, got, tc.want)
		}
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeUInt32(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hex     string
		want    uint32
		wantErr bool
	}{
		{"01000000", 1, false},
		{"00000000", 0, false},
		{"78563412", 0x12345678, false},
		{"", 0, true},
		{"010000", 0, true},
		{"0100000000", 0, true},
	} {
		got, err := decodeUInt32(mustHex(t, tc.hex))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("decodeUInt32(%s) = %d, %v; want %d, err %v", tc.hex, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !errors.Is(err, errShortValue) {
			t.Errorf("decodeUInt32(%s) error %v does not wrap errShortValue", tc.hex, err)
		}
	}
	if pid, err := decodePID(mustHex(t, "ffffffff")); err != nil || pid != -1 {
		t.Errorf("decodePID(ffffffff) = %d, %v", pid, err)
	}
	if pid, err := decodePID(mustHex(t, "3d610100")); err != nil || pid != 90429 {
		t.Errorf("decodePID = %d, %v; want 90429", pid, err)
	}
}

func TestDecodeObjectIDs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hex     string
		want    []uint32
		wantErr bool
	}{
		{"", []uint32{}, false},
		{"49000000 50000000 7e000000", []uint32{73, 80, 126}, false},
		{"4900000050", nil, true},
	} {
		got, err := decodeObjectIDs(mustHex(t, tc.hex))
		if (err != nil) != tc.wantErr || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("decodeObjectIDs(%s) = %v, %v; want %v, err %v", tc.hex, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestDecodePointer(t *testing.T) {
	t.Parallel()
	if p, err := decodePointer(mustHex(t, "1032547698badcfe")); err != nil || p != 0xfedcba9876543210 {
		t.Errorf("decodePointer = %#x, %v", p, err)
	}
	if _, err := decodePointer(mustHex(t, "10325476")); err == nil {
		t.Error("decodePointer accepts 4 bytes")
	}
}

func TestDecodeBufferListChannels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		hex     string
		want    int
		wantErr bool
	}{
		// Recorded shape of a built-in microphone: one buffer, one
		// channel (mNumberBuffers, padding, {channels, bytes, mData}).
		{"built-in mic", "01000000 00000000  01000000 00000000 0000000000000000", 1, false},
		{"stereo USB input", "01000000 00000000  02000000 00000000 0000000000000000", 2, false},
		{"two buffers", "02000000 00000000  01000000 00000000 0000000000000000  04000000 00000000 0000000000000000", 5, false},
		// An output-only device in scope 'inpt': no buffers; CoreAudio
		// reports the header (or the declared mBuffers[1]).
		{"no input, header", "00000000 00000000", 0, false},
		{"no input, one slot", "00000000 00000000  00000000 00000000 0000000000000000", 0, false},
		{"count only", "00000000", 0, false},
		{"short header", "000000", 0, true},
		{"buffer missing", "01000000 00000000", 0, true},
		{"count too large", "ffffffff 00000000  01000000 00000000 0000000000000000", 0, true},
	} {
		got, err := decodeBufferListChannels(mustHex(t, tc.hex))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: decodeBufferListChannels = %d, %v; want %d, err %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCoreAudioUses(t *testing.T) {
	t.Parallel()
	devs := []audioDevice{
		{ID: 73, UID: "BuiltInMicrophoneDevice", InputChannels: 1, Running: true},
		{ID: 80, UID: "BuiltInSpeakerDevice", InputChannels: 0, Running: true},
		{ID: 90, UID: "AppleUSBAudioEngine:Jabra:0001", InputChannels: 1, Running: false},
		{ID: 91, Name: "ZoomAudioDevice", InputChannels: 2, Running: false},
		{ID: 92, InputChannels: 2, Running: true},
	}
	for _, tc := range []struct {
		name      string
		procs     []audioProcess
		haveProcs bool
		want      []Use
	}{
		{
			name: "before 14.2: running inputs, unknown process",
			want: []Use{
				{Kind: Microphone, Device: "BuiltInMicrophoneDevice", Process: unknownProcess, UID: -1, Source: SourceCoreAudio},
				{Kind: Microphone, Device: "object 92", Process: unknownProcess, UID: -1, Source: SourceCoreAudio},
			},
		},
		{
			name:      "14.2+: nobody runs input",
			haveProcs: true,
			procs:     []audioProcess{{PID: 300, BundleID: "com.apple.Music", UID: 501}},
		},
		{
			name:      "14.2+: process names its device",
			haveProcs: true,
			procs: []audioProcess{
				{PID: 5678, BundleID: "us.zoom.xos", Path: "/Applications/zoom.us.app/Contents/MacOS/zoom.us", UID: 501, RunningInput: true, InputDevices: []uint32{90}},
				{PID: 300, BundleID: "com.apple.Music", UID: 501},
			},
			want: []Use{
				{Kind: Microphone, Device: "AppleUSBAudioEngine:Jabra:0001", PID: 5678, Process: "/Applications/zoom.us.app/Contents/MacOS/zoom.us", UID: 501, Session: "501", Source: SourceCoreAudio},
			},
		},
		{
			name:      "14.2+: no device named, every running input; bundle id when no path",
			haveProcs: true,
			procs:     []audioProcess{{PID: 42, BundleID: "com.example.rec", UID: -1, RunningInput: true, InputDevices: []uint32{80}}},
			want: []Use{
				{Kind: Microphone, Device: "BuiltInMicrophoneDevice", PID: 42, Process: "com.example.rec", UID: -1, Source: SourceCoreAudio},
				{Kind: Microphone, Device: "object 92", PID: 42, Process: "com.example.rec", UID: -1, Source: SourceCoreAudio},
			},
		},
		{
			name:      "14.2+: PID 0 process object skipped",
			haveProcs: true,
			procs:     []audioProcess{{PID: 0, RunningInput: true}},
		},
	} {
		got := coreAudioUses(devs, tc.procs, tc.haveProcs)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
	// No running input device at all and a process running input: the
	// device is unknown but the use is reported.
	got := coreAudioUses(nil, []audioProcess{{PID: 7, Path: "/bin/rec", UID: 0, RunningInput: true}}, true)
	want := []Use{{Kind: Microphone, Device: "unknown", PID: 7, Process: "/bin/rec", UID: 0, Session: "0", Source: SourceCoreAudio}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("no devices: got %+v, want %+v", got, want)
	}
}

func FuzzDecodeBufferListChannels(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := decodeBufferListChannels(b)
		if err != nil {
			return
		}
		if len(b) < 4 {
			t.Fatalf("decoded %d channels from %d bytes", n, len(b))
		}
		if bufs := binary.LittleEndian.Uint32(b); bufs > 0 && uint64(len(b)) < bufferListHeader+uint64(bufs)*audioBufferSize {
			t.Fatalf("decoded %d buffers from %d bytes", bufs, len(b))
		}
	})
}

func FuzzDecodeObjectIDs(f *testing.F) {
	f.Add([]byte{73, 0, 0, 0, 80, 0, 0, 0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := decodeObjectIDs(b)
		if err == nil && len(ids)*4 != len(b) {
			t.Fatalf("%d IDs from %d bytes", len(ids), len(b))
		}
		if _, err := decodeUInt32(b); (err == nil) != (len(b) == 4) {
			t.Fatalf("decodeUInt32 on %d bytes: %v", len(b), err)
		}
	})
}
