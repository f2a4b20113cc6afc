// Package devices finds which processes use a camera or a microphone right
// now. On Linux it reads the processes holding V4L2 and ALSA capture device
// nodes from /proc and the capture streams of each user's PipeWire (or
// PulseAudio) server; on macOS it asks CoreAudio and CoreMediaIO; on
// Windows it reads the CapabilityAccessManager consent store of every
// loaded user hive. Decoding is OS-independent and tested on fixtures.
package devices

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Kind is the kind of device.
type Kind string

const (
	Camera     Kind = "camera"
	Microphone Kind = "microphone"
)

// Source says where a use was seen.
type Source string

const (
	SourceV4L2         Source = "v4l2"
	SourceALSA         Source = "alsa"
	SourcePipeWire     Source = "pipewire"
	SourcePulseAudio   Source = "pulseaudio"
	SourceCoreAudio    Source = "coreaudio"
	SourceCoreMediaIO  Source = "coremediaio"
	SourceConsentStore Source = "consentstore"
)

// Use is one device in use by one process.
type Use struct {
	Kind Kind
	// Device names the device: a node path (/dev/video0), a PipeWire or
	// PulseAudio source name, a CoreAudio UID, a consent store key.
	Device string
	// PID is the process using it; 0 when the OS does not tell.
	PID int32
	// Process is the executable's path or name as far as known.
	Process string
	// UID is the user whose session it belongs to; -1 when unknown.
	UID int
	// Session names the user session (uid, Windows SID).
	Session string
	Source  Source
	// ScreenShare marks a video capture through the desktop portal (a
	// screen cast), which is not the camera.
	ScreenShare bool `json:",omitempty"`
	// Monitor marks an audio capture of an output (a monitor source),
	// which is not the microphone.
	Monitor bool `json:",omitempty"`
}

// IsCapture reports whether the use is a real camera or microphone
// capture, not a screen cast or an output monitor.
func (u Use) IsCapture() bool { return !u.ScreenShare && !u.Monitor }

// Key identifies a use across checks.
func (u Use) Key() string {
	return fmt.Sprintf("%s|%s|%d|%s|%d", u.Kind, u.Source, u.PID, u.Device, u.UID)
}

// Sort orders uses by kind, PID, source and device.
func Sort(us []Use) {
	slices.SortFunc(us, func(a, b Use) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.PID, b.PID), cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.Device, b.Device), cmp.Compare(a.UID, b.UID))
	})
}

// Config is what a Watcher runs with.
type Config struct {
	// PollInterval is the time between checks when no event arrives; 0
	// means 2 s.
	PollInterval time.Duration
	// ProcRoot is procfs on Linux; "" means /proc.
	ProcRoot string
	// RunUserDir holds the users' runtime directories on Linux; "" means
	// /run/user.
	RunUserDir string
	Logger     *slog.Logger
}

func (c *Config) defaults() {
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	if c.RunUserDir == "" {
		c.RunUserDir = "/run/user"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// osChecker is the per-OS part: check lists the uses now; changed, when
// not nil, signals that something may have changed (inotify on device
// nodes, PipeWire's monitor mode), so the Watcher checks at once instead of
// at the next poll. start starts what feeds changed and stops with ctx.
type osChecker interface {
	check(ctx context.Context) ([]Use, error)
	start(ctx context.Context) (changed <-chan struct{}, err error)
}

// Watcher reports the devices in use as they change.
type Watcher struct {
	cfg Config
	os  osChecker
}

// New returns a watcher for this OS.
func New(cfg Config) *Watcher {
	cfg.defaults()
	return &Watcher{cfg: cfg, os: newOSChecker(cfg)}
}

// Check lists the devices in use now, sorted.
func (w *Watcher) Check(ctx context.Context) ([]Use, error) {
	us, err := w.os.check(ctx)
	Sort(us)
	return us, err
}

// Run calls emit with the complete set of uses at start and then whenever
// it changes, until ctx ends. A failed check is logged and retried at the
// next poll.
func (w *Watcher) Run(ctx context.Context, emit func([]Use)) error {
	changed, err := w.os.start(ctx)
	if err != nil {
		w.cfg.Logger.Info("no device events; polling", "interval", w.cfg.PollInterval, "reason", err)
	}
	tick := time.NewTicker(w.cfg.PollInterval)
	defer tick.Stop()
	var last []Use
	first := true
	for {
		us, err := w.Check(ctx)
		if err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("camera/microphone check", "err", err)
		}
		if err == nil && (first || !slices.EqualFunc(us, last, func(a, b Use) bool { return a == b })) {
			emit(us)
			last, first = us, false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-changed:
		}
	}
}
