package devices

// Camera clients from unified log messages recorded on real Macs and
// published (testdata/macos/, sources in testdata/README.md). The messages
// are Apple's private strings; these tests pin what each macOS release
// printed, so a parser change that loses one fails here.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func parseSampleFile(t *testing.T, name string) []CameraClient {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "macos", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseUnifiedLogCamera(f)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestParseUnifiedLogCameraMacOSSamples(t *testing.T) {
	t.Parallel()
	const zoom = "/Applications/zoom.us.app/Contents/MacOS/zoom.us"
	tests := []struct {
		file string
		want []CameraClient
		// active are the PIDs left running once the entries are folded.
		active []int32
	}{
		{
			// FaceTime (through avconferenced, PID 901), then Zoom (17873):
			// the register-assistant service names each client, and each
			// client logs its own CMIODeviceStartStream.
			file: "unifiedlog-macos14-15-camera.ndjson",
			want: []CameraClient{
				{PID: 901, Format: "cmio-register-endpoint"},
				{PID: 901, Process: "/usr/libexec/avconferenced", Format: "cmio-device-stream"},
				{PID: 17873, Format: "cmio-register-endpoint"},
				{PID: 17873, Process: zoom, Format: "cmio-device-stream"},
			},
			active: []int32{901, 17873},
		},
		{
			file:   "unifiedlog-macos13-camera.ndjson",
			want:   []CameraClient{{PID: 90429, Device: "3F4ADF48-8358-4A2E-896B-96848FDB6DD5", Format: "cmio-device-control-pid"}},
			active: []int32{90429},
		},
		{
			// "StartStream: Powering ON camera" names no client and is
			// skipped; the TCC check names Zoom's PID.
			file: "unifiedlog-macos12-appleh13camerad.ndjson",
			want: []CameraClient{
				{Time: logTime(t, "2021-12-29 12:04:25.699297-0800"), PID: 11676, Format: "appleh13camerad"},
			},
			active: []int32{11676},
		},
		{
			// Photo Booth (PID 6582) connects, then dies.
			file: "unifiedlog-macos11-vdcassistant.ndjson",
			want: []CameraClient{
				{Time: logTime(t, "2021-05-12 17:29:29.654239+0200"), PID: 6582, Format: "vdcassistant"},
				{Time: logTime(t, "2021-05-12 17:29:40.05392+0200"), PID: 6582, Stop: true, Format: "vdcassistant"},
			},
		},
		{
			// A real `log show --style ndjson` (two CoreAudio entries and
			// the closing count): no camera client, no error.
			file: "logshow-ndjson-framing.ndjson",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got := parseSampleFile(t, tt.file)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d clients, want %d: %+v", len(got), len(tt.want), got)
			}
			var cc cameraClients
			for i := range tt.want {
				cc.add(got[i])
				if !got[i].Time.Equal(tt.want[i].Time) {
					t.Errorf("client %d: time %v, want %v", i, got[i].Time, tt.want[i].Time)
				}
				g, w := got[i], tt.want[i]
				g.Time, w.Time = time.Time{}, time.Time{}
				if g != w {
					t.Errorf("client %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
			var pids []int32
			for _, c := range cc.active() {
				pids = append(pids, c.PID)
			}
			if !reflect.DeepEqual(pids, tt.active) {
				t.Errorf("active clients %v, want %v", pids, tt.active)
			}
		})
	}
}

// TestMacOS14CameraUses follows the macOS 14-15 sample to the uses the
// agent reports: both clients on the one running camera, with the path
// the OS gives for each PID.
func TestMacOS14CameraUses(t *testing.T) {
	t.Parallel()
	var cc cameraClients
	for _, c := range parseSampleFile(t, "unifiedlog-macos14-15-camera.ndjson") {
		cc.add(c)
	}
	cams := []cameraDevice{{ID: 33, UID: "47B4B64B-7067-4B9C-AD2B-AE273A71F4B5", Running: true}}
	proc := func(pid int32) (string, int, bool) {
		switch pid {
		case 901:
			return "/usr/libexec/avconferenced", 501, true
		case 17873:
			return "/Applications/zoom.us.app/Contents/MacOS/zoom.us", 501, true
		}
		return "", -1, false
	}
	got := cameraUses(cams, cc.active(), proc)
	want := []Use{
		{Kind: Camera, Device: "47B4B64B-7067-4B9C-AD2B-AE273A71F4B5", PID: 901, Process: "/usr/libexec/avconferenced", UID: 501, Session: "501", Source: SourceCoreMediaIO},
		{Kind: Camera, Device: "47B4B64B-7067-4B9C-AD2B-AE273A71F4B5", PID: 17873, Process: "/Applications/zoom.us.app/Contents/MacOS/zoom.us", UID: 501, Session: "501", Source: SourceCoreMediaIO},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("uses:\n got %+v\nwant %+v", got, want)
	}
}

// TestUnifiedLogRealFraming puts the macOS 14-15 messages into the real
// `log show --style ndjson` entry of logshow-ndjson-framing.ndjson (keys in
// log's order, "\/" escapes, userID, backtrace object): only eventMessage,
// subsystem and, for the service, processImagePath are replaced.
func TestUnifiedLogRealFraming(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "macos", "logshow-ndjson-framing.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	var entry map[string]any
	if err := json.Unmarshal([]byte(first), &entry); err != nil {
		t.Fatal(err)
	}
	const remotePlayer = "/System/Library/Frameworks/MediaPlayer.framework/Versions/A/XPCServices/RemotePlayerService.xpc/Contents/MacOS/RemotePlayerService"
	if entry["processImagePath"] != remotePlayer {
		t.Fatalf("sample processImagePath = %v", entry["processImagePath"])
	}
	at := logTime(t, "2026-07-26 18:11:22.348728+1200")
	with := func(subsystem, msg, image string) []byte {
		e := map[string]any{}
		for k, v := range entry {
			e[k] = v
		}
		e["subsystem"], e["eventMessage"] = subsystem, msg
		if image != "" {
			e["processImagePath"] = image
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	register := "RegisterAssistantService.m:2343:-[RegisterAssistantServer addRegisterExtensionConnection:]_block_invoke [{private}901][{private}0] added <private> endpoint <private> camera <private>"
	start := "CMIOHardware.cpp:747:CMIODeviceStartStream backtrace 0   CoreMediaIO 0x000000019b4c4040 CMIODeviceStartStream + 228    [0x19b45a000 + 434240]"
	stop := "CMIOHardware.cpp:788:CMIODeviceStopStream (45 46)"
	service := "/System/Library/Frameworks/CoreMediaIO.framework/Versions/A/XPCServices/com.apple.cmio.registerassistantservice.xpc/Contents/MacOS/com.apple.cmio.registerassistantservice"
	tests := []struct {
		name string
		line []byte
		want CameraClient
		ok   bool
	}{
		{"register, logged by the service", with("com.apple.cmio", register, service), CameraClient{Time: at, PID: 901, Format: "cmio-register-endpoint"}, true},
		{"register, logged by another process", with("com.apple.cmio", register, ""), CameraClient{}, false},
		{"register, other subsystem", with("com.apple.coreaudio", register, service), CameraClient{}, false},
		{"start stream, self", with("com.apple.cmio", start, ""), CameraClient{Time: at, PID: 99240, Process: remotePlayer, Format: "cmio-device-stream"}, true},
		{"stop stream, self", with("com.apple.cmio", stop, ""), CameraClient{Time: at, PID: 99240, Process: remotePlayer, Stop: true, Format: "cmio-device-stream"}, true},
		{"start stream, other subsystem", with("com.apple.coreaudio", start, ""), CameraClient{}, false},
		{"the sample itself", []byte(first), CameraClient{}, false},
	}
	for _, tt := range tests {
		got, ok := parseUnifiedLogLine(tt.line)
		if ok != tt.ok || !got.Time.Equal(tt.want.Time) {
			t.Errorf("%s: ok %v time %v, want %v %v", tt.name, ok, got.Time, tt.ok, tt.want.Time)
		}
		got.Time, tt.want.Time = time.Time{}, time.Time{}
		if got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}
