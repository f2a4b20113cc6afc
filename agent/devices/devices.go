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
	"strconv"
	"sync"
	"time"
)

// Kind is the kind of device.
type Kind string

const (
	Camera     Kind = "camera"
	Microphone Kind = "microphone"
	// Screen is a screen cast (Use.ScreenShare) as reported: its own
	// kind, never a camera.
	Screen Kind = "screen"
	// OutputAudio is a recording of what the computer plays (Use.Monitor)
	// as reported: never a microphone.
	OutputAudio Kind = "output_audio"
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

// Reported is the kind the use is reported as: Screen for a screen cast,
// OutputAudio for a recording of an output, else its Kind.
func (u Use) Reported() Kind {
	switch {
	case u.ScreenShare:
		return Screen
	case u.Monitor:
		return OutputAudio
	}
	return u.Kind
}

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

// Watcher reports the devices in use as they change: what this process
// sees, and what user sessions report (Report) where only a process in
// the session may ask (the camera on macOS 26).
type Watcher struct {
	cfg Config
	os  osChecker
	now func() time.Time // nil: time.Now

	mu      sync.Mutex
	reports map[string]report // made on first use
	// reported is signalled when a report changes what is in use; made
	// on first use (signal).
	reported chan struct{}
}

// report is what one user session reported, until expires.
type report struct {
	uses    []Use
	expires time.Time
}

// New returns a watcher for this OS.
func New(cfg Config) *Watcher {
	cfg.defaults()
	return newWatcher(cfg, newOSChecker(cfg))
}

func newWatcher(cfg Config, os osChecker) *Watcher {
	return &Watcher{cfg: cfg, os: os}
}

func (w *Watcher) clock() time.Time {
	if w.now != nil {
		return w.now()
	}
	return time.Now()
}

// signal returns the channel a changing report signals; w.mu is held.
func (w *Watcher) signal() chan struct{} {
	if w.reported == nil {
		w.reported = make(chan struct{}, 1)
	}
	return w.reported
}

// DefaultReportTTL is how long Report keeps a session's uses when it is
// given no time.
const DefaultReportTTL = 30 * time.Second

// Report records the uses a user session sees (the per-user notifier's
// report), replacing what that session reported before: they join the
// uses Check and Run return until the session reports again or ttl
// passes (DefaultReportTTL when ttl <= 0), so the report of a session
// that stopped reporting fades. No uses (nil) withdraws the session's
// report. session names the reporting session (its uid and login
// session); uid, which the caller must have from the OS, not from the
// report, is set on every use, and Session when the use has none.
//
// A use this process sees too (the same kind, source, device and process,
// with the same uid or an unknown one) is listed once, as reported. Run
// emits a change at once.
func (w *Watcher) Report(session string, uid int, uses []Use, ttl time.Duration) {
	if ttl <= 0 {
		ttl = DefaultReportTTL
	}
	us := make([]Use, 0, len(uses))
	seen := make(map[string]bool, len(uses))
	for _, u := range uses {
		u.UID = uid
		if u.Session == "" {
			u.Session = strconv.Itoa(uid)
		}
		if k := u.Key(); !seen[k] {
			seen[k] = true
			us = append(us, u)
		}
	}
	Sort(us)
	w.mu.Lock()
	now := w.clock()
	if w.reports == nil {
		w.reports = make(map[string]report)
	}
	old := w.reports[session]
	if !old.expires.After(now) {
		old = report{} // expired: as good as gone
	}
	if len(us) == 0 {
		delete(w.reports, session)
	} else {
		w.reports[session] = report{uses: us, expires: now.Add(ttl)}
	}
	signal := w.signal()
	w.mu.Unlock()
	if !slices.Equal(old.uses, us) {
		select {
		case signal <- struct{}{}:
		default:
		}
	}
}

// merge adds the unexpired reported uses to what this process sees and
// sorts the result. next is when the first report expires (zero for
// none): the set changes then.
func (w *Watcher) merge(own []Use) (us []Use, next time.Time) {
	w.mu.Lock()
	now := w.clock()
	var reported []Use
	seen := make(map[string]bool)
	for session, r := range w.reports {
		if !r.expires.After(now) {
			delete(w.reports, session)
			continue
		}
		if next.IsZero() || r.expires.Before(next) {
			next = r.expires
		}
		for _, u := range r.uses {
			if k := u.Key(); !seen[k] {
				seen[k] = true
				reported = append(reported, u)
			}
		}
	}
	w.mu.Unlock()
	us = make([]Use, 0, len(own)+len(reported))
	for _, o := range own {
		if !slices.ContainsFunc(reported, func(r Use) bool { return sameUse(o, r) }) {
			us = append(us, o)
		}
	}
	us = append(us, reported...)
	Sort(us)
	return us, next
}

// sameUse reports whether own, a use this process sees, is the reported
// use r seen from the session: the same device held by the same process,
// with the same user or one this process could not tell.
func sameUse(own, r Use) bool {
	return own.Kind == r.Kind && own.Source == r.Source && own.Device == r.Device && own.PID == r.PID &&
		(own.UID < 0 || own.UID == r.UID)
}

// Check lists the devices in use now, sorted: what this process sees and
// what sessions reported. When this process's check fails, the error is
// returned with the reported uses.
func (w *Watcher) Check(ctx context.Context) ([]Use, error) {
	own, err := w.os.check(ctx)
	us, _ := w.merge(own)
	return us, err
}

// Run calls emit with the complete set of uses at start and then whenever
// it changes, until ctx ends. A failed check is logged and retried at the
// next poll; meanwhile what this process saw last stands, and session
// reports (Report) still count. A report that changes the set is emitted
// at once, and one that expires when it does.
func (w *Watcher) Run(ctx context.Context, emit func([]Use)) error {
	changed, err := w.os.start(ctx)
	if err != nil {
		w.cfg.Logger.Info("no device events; polling", "interval", w.cfg.PollInterval, "reason", err)
	}
	w.mu.Lock()
	reported := w.signal()
	w.mu.Unlock()
	tick := time.NewTicker(w.cfg.PollInterval)
	defer tick.Stop()
	expiry := time.NewTimer(time.Hour)
	expiry.Stop()
	defer expiry.Stop()
	var own, last []Use
	checked, emitted, checkOwn := false, false, true
	for {
		if checkOwn {
			us, err := w.os.check(ctx)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				w.cfg.Logger.Warn("camera/microphone check", "err", err)
			} else {
				own, checked = us, true
			}
		}
		us, next := w.merge(own)
		// Before this process's first good check, only reports count.
		if (checked || len(us) > 0) && (!emitted || !slices.Equal(us, last)) {
			emit(us)
			last, emitted = us, true
		}
		expiry.Stop()
		if !next.IsZero() {
			expiry.Reset(max(next.Sub(w.clock()), time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			checkOwn = true
		case <-changed:
			checkOwn = true
		case <-reported:
			checkOwn = false
		case <-expiry.C:
			checkOwn = false
		}
	}
}
