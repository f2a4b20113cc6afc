package state

import (
	"slices"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/devices"
)

func TestMediaApply(t *testing.T) {
	t.Parallel()
	mic := devices.Use{Kind: devices.Microphone, Device: "alsa_input.usb", PID: 110, Process: "zoom", UID: 1000, Source: devices.SourcePipeWire}
	cam := devices.Use{Kind: devices.Camera, Device: "/dev/video0", PID: 230, Process: "chrome", UID: 1000, Source: devices.SourceV4L2}
	rec := devices.Use{Kind: devices.Microphone, Device: "alsa_input.usb", PID: 950, Process: "arecord", UID: -1, Session: "S-1-5-21-1", Source: devices.SourceALSA}
	use := func(u devices.Use, sec int) Use {
		return Use{Use: u, Since: base.Add(time.Duration(sec) * time.Second), Ancestry: []int32{u.PID, 1}}
	}
	keys := func(us []Use) []int32 {
		var out []int32
		for _, u := range us {
			out = append(out, u.PID)
		}
		return out
	}
	m := NewMedia()
	for i, st := range []struct {
		now     []Use
		on, off []int32
		len     int
	}{
		{[]Use{use(mic, 1), use(cam, 1), use(mic, 1)}, []int32{110, 230}, nil, 2},
		// Known uses keep their start time.
		{[]Use{use(cam, 5), use(rec, 5), use(mic, 5)}, []int32{950}, nil, 3},
		{[]Use{use(rec, 9)}, nil, []int32{230, 110}, 1},
		{nil, nil, []int32{950}, 0},
	} {
		d := m.Apply(st.now)
		if !slices.Equal(keys(d.On), st.on) || !slices.Equal(keys(d.Off), st.off) || m.Len() != st.len {
			t.Errorf("step %d: on %v off %v (%d in use), want on %v off %v (%d)", i, keys(d.On), keys(d.Off), m.Len(), st.on, st.off, st.len)
		}
		if i == 1 {
			for _, u := range m.Uses() {
				if u.PID == 110 && !u.Since.Equal(base.Add(time.Second)) {
					t.Errorf("a known use's start moved to %v", u.Since)
				}
			}
			if !m.Known(rec.Key()) || m.Known(devices.Use{PID: 1}.Key()) {
				t.Error("Known is wrong")
			}
		}
	}
	if got := use(mic, 0).SessionName(); got != "uid 1000" {
		t.Errorf("session %q", got)
	}
	if got := use(rec, 0).SessionName(); got != "S-1-5-21-1" {
		t.Errorf("session %q", got)
	}
}
