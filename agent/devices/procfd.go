package devices

import (
	"bytes"
	"strings"
)

// Device numbers of the capture devices found through /proc/PID/fd.
const (
	majorV4L2 = 81  // /dev/video*, also /dev/vbi*, /dev/radio*, /dev/v4l-subdev*
	majorALSA = 116 // /dev/snd/*
)

// isDevCandidate reports whether an fd link target may be a capture
// device node, so that only those are stat'ed.
func isDevCandidate(target []byte) bool {
	return bytes.HasPrefix(target, []byte("/dev/video")) || bytes.HasPrefix(target, []byte("/dev/snd/pcm"))
}

// classifyNode tells what an open device node is from its path (as
// /proc/PID/fd shows it) and its device type and major number: a V4L2
// video node is a camera, an ALSA capture PCM (pcmC<card>D<device>c) a
// microphone. Everything else, a regular file standing at /dev/video0
// included, is neither: the path alone is easy to fake.
func classifyNode(path string, isChar bool, major uint32) (Kind, Source, bool) {
	if !isChar {
		return "", "", false
	}
	switch {
	case major == majorV4L2 && isVideoName(path):
		return Camera, SourceV4L2, true
	case major == majorALSA && isALSACaptureName(path):
		return Microphone, SourceALSA, true
	}
	return "", "", false
}

// nodeMajor is the major number a node at path must have to be a
// capture device, 0 for none.
func nodeMajor(path string) uint32 {
	switch {
	case isVideoName(path):
		return majorV4L2
	case isALSACaptureName(path):
		return majorALSA
	}
	return 0
}

// isVideoName reports whether path is /dev/video<N>.
func isVideoName(path string) bool {
	n, ok := strings.CutPrefix(path, "/dev/video")
	return ok && isDigits(n)
}

// isALSACaptureName reports whether path is /dev/snd/pcmC<N>D<N>c.
func isALSACaptureName(path string) bool {
	rest, ok := strings.CutPrefix(path, "/dev/snd/pcmC")
	if !ok {
		return false
	}
	card, rest, ok := strings.Cut(rest, "D")
	if !ok || !isDigits(card) {
		return false
	}
	dev, ok := strings.CutSuffix(rest, "c")
	return ok && isDigits(dev)
}

func isDigits(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isSoundServer reports whether a process with executable base name exe
// and short name comm is a sound server daemon, one that holds capture
// devices for its clients. Its holds are dropped when the user's sound
// server was read, since its streams name the real clients.
func isSoundServer(exe, comm string) bool {
	return isSoundServerName(exe) || isSoundServerName(comm)
}

func isSoundServerName(name string) bool {
	switch name {
	case "pipewire", "wireplumber", "pipewire-pulse", "pipewire-media-session", "pulseaudio":
		return true
	}
	return false
}
