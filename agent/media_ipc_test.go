package agent

import (
	"slices"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/agent/localipc"
)

// Every source and kind of camera or microphone use the devices package
// knows can travel in a notifier's report: ipc keeps its own list (it may
// not import devices), and this keeps the two in step.
func TestIPCMediaKnowsEverySource(t *testing.T) {
	t.Parallel()
	for _, kind := range []devices.Kind{devices.Camera, devices.Microphone} {
		for _, src := range []devices.Source{devices.SourceV4L2, devices.SourceALSA, devices.SourcePipeWire, devices.SourcePulseAudio,
			devices.SourceCoreAudio, devices.SourceCoreMediaIO, devices.SourceConsentStore} {
			u := devices.Use{Kind: kind, Device: "d", PID: 1, Source: src}
			if ms, skipped := IPCMedia([]devices.Use{u}); skipped != 0 || len(ms) != 1 {
				t.Errorf("a %s use seen by %s cannot be reported (%d skipped)", kind, src, skipped)
			}
		}
	}
}

func TestIPCMedia(t *testing.T) {
	t.Parallel()
	zoom := devices.Use{Kind: devices.Camera, Device: "FaceTime HD Camera", PID: 812, Process: "zoom.us", UID: 501, Session: "501", Source: devices.SourceCoreMediaIO}
	mic := devices.Use{Kind: devices.Microphone, Device: "BuiltInMicrophoneDevice", PID: 700, Process: "Safari", UID: 501, Source: devices.SourceCoreAudio}
	other := zoom
	other.UID, other.Session = 502, "502" // the same process as seen under another uid: one use on the wire
	cast := devices.Use{Kind: devices.Camera, Device: "xdg-desktop-portal", PID: 5, Source: devices.SourcePipeWire, ScreenShare: true}
	badSource := devices.Use{Kind: devices.Camera, Device: "x", Source: "usb"}
	longPath := devices.Use{Kind: devices.Microphone, Device: "m", Process: "/" + strings.Repeat("p", 2000), Source: devices.SourceCoreAudio}
	got, skipped := IPCMedia([]devices.Use{mic, zoom, other, cast, badSource, longPath})
	want := []localipc.MediaUse{
		{Kind: "camera", Device: "FaceTime HD Camera", PID: 812, Process: "zoom.us", Source: "coremediaio"},
		{Kind: "microphone", Device: "BuiltInMicrophoneDevice", PID: 700, Process: "Safari", Source: "coreaudio"},
	}
	if !slices.Equal(got, want) || skipped != 3 {
		t.Errorf("IPCMedia = %+v, %d skipped\nwant %+v, 3 skipped", got, skipped, want)
	}
	if got, _ := IPCMedia(nil); got == nil || len(got) != 0 {
		t.Errorf("IPCMedia(nil) = %#v, want an empty list", got)
	}
	many := make([]devices.Use, localipc.MaxMediaUses+10)
	for i := range many {
		many[i] = devices.Use{Kind: devices.Camera, Device: "c", PID: int32(i + 1), Source: devices.SourceCoreMediaIO}
	}
	if got, skipped := IPCMedia(many); len(got) != localipc.MaxMediaUses || skipped != 10 {
		t.Errorf("IPCMedia of %d uses: %d kept, %d skipped", len(many), len(got), skipped)
	}

	// Back on the service's side the session's uid is the uid.
	uses := ReportedMedia(localipc.Session{UID: 501, Session: "console"}, want)
	if len(uses) != 2 || uses[0] != zoom || uses[1].UID != 501 || uses[1].Session != "501" || uses[1].Source != devices.SourceCoreAudio {
		t.Errorf("ReportedMedia = %+v", uses)
	}
	// On Windows the session is the user's SID.
	if u := ReportedMedia(localipc.Session{UID: 2, User: "S-1-5-21-1-2-3-1001"}, want[:1]); u[0].UID != 2 || u[0].Session != "S-1-5-21-1-2-3-1001" {
		t.Errorf("ReportedMedia on Windows = %+v", u)
	}
}

// The largest media frame DecodeFrame accepts encodes again: no field
