package devices

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameUses(got, want []Use) bool {
	Sort(got)
	Sort(want)
	return slices.Equal(got, want)
}

func TestParsePWDump(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		uid  int
		want []Use
	}{
		// Recorded: pipewire 0.3.65 + wireplumber, pw-record --target
		// test-mic on a null Audio/Source/Virtual.
		{"pwdump-record-mic.json", 0, []Use{
			{Kind: Microphone, Device: "test-mic", PID: 6740, Process: "pw-cat", UID: 0, Session: "0", Source: SourcePipeWire},
		}},
		// Recorded: the same daemon with nothing capturing.
		{"pwdump-idle.json", 1000, nil},
		// Recorded: pw-record -P '{ stream.capture.sink=true }' --target
		// test-sink, a capture of an output.
		{"pwdump-record-monitor.json", 0, []Use{
			{Kind: Microphone, Device: "test-sink", PID: 6863, Process: "pw-cat", UID: 0, Session: "0", Source: SourcePipeWire, Monitor: true},
		}},
		// Recorded: parec through pipewire-pulse. The server's peer is
		// pipewire-pulse (7165), so the PID is the client's claim.
		{"pwdump-pulse-client.json", 0, []Use{
			{Kind: Microphone, Device: "test-mic", PID: 8222, Process: "pacat", UID: 0, Session: "0", Source: SourcePipeWire},
		}},
		// Hand-written: a V4L2 camera read by Firefox; a paused stream of
		// it is not in use; a client that claims PID 1 is reported with
		// the PID the server saw.
		{"pwdump-camera.json", 1000, []Use{
			{Kind: Camera, Device: "v4l2_input.pci-0000_00_14.0-usb-0_6_1.0", PID: 4242, Process: "firefox-esr", UID: 1000, Session: "1000", Source: SourcePipeWire},
			{Kind: Camera, Device: "v4l2_input.pci-0000_00_14.0-usb-0_6_1.0", PID: 5555, Process: "liar", UID: 1000, Session: "1000", Source: SourcePipeWire},
		}},
		// Hand-written: a portal screen cast of gnome-shell's stream to
		// Chromium, and a Flatpak app granted the camera by the camera
		// portal. Both connections are the portal's (sec.pid 1200), so
		// the PIDs are the apps' claims.
		{"pwdump-screencast.json", 1000, []Use{
			{Kind: Camera, Device: "gnome-shell-screencast", PID: 3333, Process: "chrome", UID: 1000, Session: "1000", Source: SourcePipeWire, ScreenShare: true},
			{Kind: Camera, Device: "v4l2_input.usb-046d_C920", PID: 77, Process: "jitsi-meet", UID: 1000, Session: "1000", Source: SourcePipeWire},
		}},
		// Hand-written: OBS capturing an output's monitor by target name,
		// and a microphone.
		{"pwdump-monitor-target.json", 1000, []Use{
			{Kind: Microphone, Device: "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor", PID: 6000, Process: "obs", UID: 1000, Session: "1000", Source: SourcePipeWire, Monitor: true},
			{Kind: Microphone, Device: "alsa_input.pci-0000_00_1f.3.analog-stereo", PID: 6000, Process: "obs", UID: 1000, Session: "1000", Source: SourcePipeWire},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePWDump(readTestdata(t, tc.file), tc.uid)
			if err != nil {
				t.Fatal(err)
			}
			if !sameUses(got, tc.want) {
				t.Errorf("ParsePWDump(%s) =\n%+v\nwant\n%+v", tc.file, got, tc.want)
			}
		})
	}
}

func TestParsePWDumpEdges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     []Use
		wantErr  bool
	}{
		{"not json", `{`, nil, true},
		{"not an array", `{"id": 1}`, nil, true},
		{"empty", `[]`, nil, false},
		{"removed object", `[{"id": 5, "type": "PipeWire:Interface:Node", "info": null}]`, nil, false},
		// No client object: the node's own claim, then its name.
		{"no client", `[{"id": 5, "type": "PipeWire:Interface:Node", "info": {"state": "running", "props":
			{"media.class": "Stream/Input/Audio", "node.name": "rec", "application.process.id": "42", "application.name": "rec"}}}]`,
			[]Use{{Kind: Microphone, Device: "rec", PID: 42, Process: "rec", UID: 7, Session: "7", Source: SourcePipeWire}}, false},
		// Output streams and devices are not captures.
		{"playback", `[{"id": 5, "type": "PipeWire:Interface:Node", "info": {"state": "running", "props":
			{"media.class": "Stream/Output/Audio", "node.name": "play"}}},
			{"id": 6, "type": "PipeWire:Interface:Node", "info": {"state": "running", "props":
			{"media.class": "Audio/Source", "node.name": "mic"}}}]`, nil, false},
		// A link given only by its props, to a sink: a monitor.
		{"link props", `[{"id": 5, "type": "PipeWire:Interface:Node", "info": {"state": "running", "props":
			{"media.class": "Stream/Input/Audio", "node.name": "rec"}}},
			{"id": 6, "type": "PipeWire:Interface:Node", "info": {"state": "running", "props":
			{"media.class": "Audio/Sink", "node.name": "speakers"}}},
			{"id": 7, "type": "PipeWire:Interface:Link", "info": {"props": {"link.output.node": 6, "link.input.node": 5}}}]`,
			[]Use{{Kind: Microphone, Device: "speakers", UID: 7, Session: "7", Source: SourcePipeWire, Monitor: true}}, false},
		// A media.role of Screen is a screen cast whatever its source.
		{"screen role", `[{"id": 5, "type": "PipeWire:Interface:Node", "info": {"state": "running", "props":
			{"media.class": "Stream/Input/Video", "node.name": "cast", "media.role": "Screen"}}}]`,
			[]Use{{Kind: Camera, Device: "cast", UID: 7, Session: "7", Source: SourcePipeWire, ScreenShare: true}}, false},
		// Odd property types do not fail the decoding.
		{"odd types", `[{"id": 5, "type": "PipeWire:Interface:Node", "info": {"state": "running", "props":
			{"media.class": "Stream/Input/Audio", "node.name": 12, "client.id": -3, "application.process.id": 1e300}}}]`,
			[]Use{{Kind: Microphone, Device: "12", UID: 7, Session: "7", Source: SourcePipeWire}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePWDump([]byte(tc.in), 7)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !sameUses(got, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func FuzzParsePWDump(f *testing.F) {
	for _, name := range []string{"pwdump-camera.json", "pwdump-screencast.json", "pwdump-monitor-target.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`[{"id":1,"type":"PipeWire:Interface:Node","info":{"state":"running","props":{"media.class":"Stream/Input/Audio","client.id":2}}},{"id":2,"type":"PipeWire:Interface:Client","info":{"props":{"pipewire.sec.pid":3}}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		uses, err := ParsePWDump(data, 1000)
		if err != nil {
			return
		}
		for _, u := range uses {
			if u.Source != SourcePipeWire || u.UID != 1000 || (u.Kind != Camera && u.Kind != Microphone) || u.PID < 0 {
				t.Fatalf("bad use %+v", u)
			}
			if u.Kind == Microphone && u.ScreenShare || u.Kind == Camera && u.Monitor {
				t.Fatalf("mixed flags %+v", u)
			}
		}
	})
}

// Recorded `pw-dump --monitor` output: the initial dump, a one-shot
// pw-dump (its client added and removed), then pw-record started and
// killed. The one-shot run must not signal, or each check would cause
// the next.
func TestFollowPWMonitor(t *testing.T) {
	t.Parallel()
	data := readTestdata(t, "pwdump-monitor-stream.json")
	signals := 0
	if err := followPWMonitor(bytes.NewReader(data), func() { signals++ }); !errors.Is(err, io.EOF) {
		t.Fatalf("followPWMonitor = %v, want io.EOF at the end", err)
	}
	// Which batches signal: feed growing prefixes of the stream.
	var perBatch []bool
	var prefix []byte
	prev := 0
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		prefix = append(append(prefix, raw...), '\n')
		n := 0
		followPWMonitor(bytes.NewReader(prefix), func() { n++ })
		perBatch = append(perBatch, n > prev)
		prev = n
	}
	if prev != signals {
		t.Fatalf("%d signals batch by batch, %d at once", prev, signals)
	}
	if len(perBatch) < 4 || !perBatch[0] || perBatch[1] || perBatch[2] || !slices.Contains(perBatch[3:], true) {
		t.Errorf("signals per batch %v: want the initial dump to signal, the one-shot pw-dump's client added and removed (batches 1 and 2) not, and pw-record's start and end to", perBatch)
	}
}

func TestFollowPWMonitorGarbage(t *testing.T) {
	t.Parallel()
	err := followPWMonitor(strings.NewReader(`[{"id": 1, "type": "PipeWire:Interface:Node", "info": {}}] {oops`), func() {})
	if err == nil || errors.Is(err, io.EOF) {
		t.Errorf("followPWMonitor on garbage = %v, want a decoding error", err)
	}
}
