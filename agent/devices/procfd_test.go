package devices

import "testing"

func TestClassifyNode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path   string
		isChar bool
		major  uint32
		kind   Kind
		source Source
	}{
		{"/dev/video0", true, 81, Camera, SourceV4L2},
		{"/dev/video12", true, 81, Camera, SourceV4L2},
		{"/dev/snd/pcmC0D0c", true, 116, Microphone, SourceALSA},
		{"/dev/snd/pcmC1D10c", true, 116, Microphone, SourceALSA},
		// Playback, control and other V4L2 nodes are not captures.
		{"/dev/snd/pcmC0D0p", true, 116, "", ""},
		{"/dev/snd/controlC0", true, 116, "", ""},
		{"/dev/v4l-subdev0", true, 81, "", ""},
		{"/dev/video", true, 81, "", ""},
		{"/dev/videox", true, 81, "", ""},
		// The right name with the wrong device is not one: the name is
		// easy to fake, the device number is not.
		{"/dev/video0", true, 116, "", ""},
		{"/dev/video0", false, 81, "", ""},
		{"/dev/snd/pcmC0D0c", true, 81, "", ""},
		{"/dev/snd/pcmC0D0c", false, 0, "", ""},
		{"/tmp/dev/video0", true, 81, "", ""},
	} {
		kind, src, ok := classifyNode(tc.path, tc.isChar, tc.major)
		if kind != tc.kind || src != tc.source || ok != (tc.kind != "") {
			t.Errorf("classifyNode(%q, %v, %d) = %q, %q, %v; want %q, %q", tc.path, tc.isChar, tc.major, kind, src, ok, tc.kind, tc.source)
		}
	}
}

func TestIsDevCandidate(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"/dev/video0": true, "/dev/snd/pcmC0D0c": true, "/dev/snd/pcmC0D0p": true,
		"/dev/null": false, "socket:[1234]": false, "/dev/snd/controlC0": false, "anon_inode:[eventfd]": false,
	} {
		if got := isDevCandidate([]byte(in)); got != want {
			t.Errorf("isDevCandidate(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestIsSoundServer(t *testing.T) {
	t.Parallel()
	if !isSoundServer("pipewire", "") || !isSoundServer("", "wireplumber") || !isSoundServer("pulseaudio", "pulseaudio") {
		t.Error("a sound server daemon not recognised")
	}
	if isSoundServer("firefox", "firefox") || isSoundServer("", "") || isSoundServer("pipewire-foo", "pw-cat") {
		t.Error("a client taken for a sound server daemon")
	}
}
