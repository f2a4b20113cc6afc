package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/vcguard/vcguard/agent/localipc"
)

// Service is the system service's side: it decides whether a notice is
// shown (one per finding until it changes, then again after the quiet
// period) and hands it to the notifiers of the user who owns the app's
// process, and to nobody else: one user learns nothing of another's
// apps.
type Service struct {
	Server  *localipc.Server
	Limiter *Limiter
	// ProcessOwner returns the uid (on Windows: the session id) owning a
	// process; nil means localipc.ProcessOwner.
	ProcessOwner func(pid int) (int, error)
	// Logger receives what is not told and why; nil means the Server's.
	Logger *slog.Logger
}

// Notify hands n to the connected notifiers of the user owning process
// n.PID unless the limiter holds it back. It returns the number of
// sessions reached (0 when held back, when that user runs no notifier, or
// when the process's owner cannot be read, e.g. it has exited) and
// whether it was held back.
func (s *Service) Notify(n Notice) (sessions int, limited bool) {
	if !s.Limiter.Allow(n) {
		return 0, true
	}
	owner := s.ProcessOwner
	if owner == nil {
		owner = localipc.ProcessOwner
	}
	uid, err := owner(n.PID)
	if err != nil {
		s.logger().Info("notify: the app's owner is unknown; nobody is told", "app", n.AppID, "pid", n.PID, "error", err)
		return 0, false
	}
	if err := s.Server.Send(uid, ToWire(n)); err != nil {
		return 0, false
	}
	for _, sess := range s.Server.Sessions() {
		if sess.UID == uid {
			sessions++
		}
	}
	return sessions, false
}

func (s *Service) logger() *slog.Logger {
	switch {
	case s.Logger != nil:
		return s.Logger
	case s.Server != nil && s.Server.Logger != nil:
		return s.Server.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Refused returns the refusals of the service's notifier socket (see
// localipc.Server.Refused), for `vcguard-agent status`; none without a server.
func (s *Service) Refused() map[string]uint64 {
	if s.Server == nil {
		return nil
	}
	return s.Server.Refused()
}

// Clear forgets a finding that went away, so that it is told again if it
// comes back (a relaunch).
func (s *Service) Clear(key string) { s.Limiter.Clear(key) }

// ToWire converts a notice for the IPC.
func ToWire(n Notice) localipc.Notice {
	return localipc.Notice{
		Key: n.Key, AppID: n.AppID, AppName: n.AppName, Verdict: n.Verdict, Action: n.Action,
		GraceSeconds: int(n.Grace / time.Second), Alternative: n.Alternative, AlternativeName: n.AlternativeName,
		Note: n.Note, InfoURL: n.InfoURL, Version: n.Version, MinVersion: n.MinVersion, Facts: n.Facts,
	}
}

// FromWire converts a notice received over the IPC.
func FromWire(w localipc.Notice) Notice {
	return Notice{
		Key: w.Key, AppID: w.AppID, AppName: w.AppName, Verdict: w.Verdict, Action: w.Action,
		Grace: time.Duration(w.GraceSeconds) * time.Second, Alternative: w.Alternative, AlternativeName: w.AlternativeName,
		Note: w.Note, InfoURL: w.InfoURL, Version: w.Version, MinVersion: w.MinVersion, Facts: w.Facts,
	}
}

// NotifierConfig is what the per-user notifier runs with.
type NotifierConfig struct {
	// Path is the service's socket (pipe on Windows); "" for
	// localipc.DefaultPath.
	Path string
	// Locale is the user's locale (LC_ALL, LC_MESSAGES or LANG); the
	// language of the messages is chosen from it.
	Locale string
	// Session names the login session.
	Session string
	Display Display
	Logger  *slog.Logger
	// Retry is the wait before reconnecting to the service; 0 means 5 s.
	Retry time.Duration
	// MediaProbe, if set, lists the cameras and microphones in use as
	// this session sees them (the agent wires devices.NewCameraProbe on
	// macOS, where the service may not ask), sorted, and how many uses
	// it could not put in a report. The notifier runs it every
	// MediaInterval while connected and reports to the service when the
	// result changes, and at least every localipc.MediaTTL/3. A failed probe is
	// logged and not reported: the last report fades after localipc.MediaTTL.
	MediaProbe func(ctx context.Context) (uses []localipc.MediaUse, skipped int, err error)
	// MediaInterval is the time between probes; 0 means 5 s. It is at
	// most localipc.MediaTTL/3.
	MediaInterval time.Duration
}

// RunNotifier connects to the service, shows every notice it sends in the
// user's language and acknowledges it, and reconnects when the service
// restarts, until ctx ends.
func RunNotifier(ctx context.Context, cfg NotifierConfig) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 5 * time.Second
	}
	uid, err := localipc.CurrentUID()
	if err != nil {
		return err
	}
	lang := Language(cfg.Locale)
	for {
		err := serveOnce(ctx, cfg, uid, lang)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, localipc.ErrRefused) {
			return err
		}
		cfg.Logger.Info("notifier: waiting for the vcguard service", "err", err, "retry", cfg.Retry)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(cfg.Retry):
		}
	}
}

func serveOnce(ctx context.Context, cfg NotifierConfig, uid int, lang string) error {
	c, err := localipc.Dial(ctx, cfg.Path)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(ctx, localipc.Hello{UID: uid, Lang: lang, Session: cfg.Session}); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	cfg.Logger.Info("notifier connected", "lang", lang)
	if cfg.MediaProbe != nil {
		pctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer func() { stop(); wg.Wait() }()
		wg.Go(func() {
			if err := reportMedia(pctx, c, cfg); err != nil {
				// A failed send: make Next return so the notifier redials.
				cfg.Logger.Warn("notifier: media report failed", "err", err)
				c.Close()
			}
		})
	}
	for {
		w, err := c.Next(ctx)
		if err != nil {
			return err
		}
		m := Render(FromWire(w), lang)
		if err := cfg.Display.Show(ctx, m); err != nil {
			cfg.Logger.Warn("notice not shown", "app", w.AppID, "err", err)
			continue
		}
		if err := c.Ack(w.Key); err != nil {
			return err
		}
	}
}

// reportMedia runs cfg.MediaProbe every cfg.MediaInterval and sends what
// it finds when that changed, or MediaTTL/3 after the last send, until
// ctx ends (nil) or a send fails (its error).
func reportMedia(ctx context.Context, c *localipc.Client, cfg NotifierConfig) error {
	interval := cfg.MediaInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	keepAlive := localipc.MediaTTL / 3
	interval = min(interval, keepAlive)
	log := cfg.Logger.With("probe", "media")
	t := time.NewTicker(interval)
	defer t.Stop()
	var last []localipc.MediaUse
	var sent time.Time
	lastErr, lastSkipped := "", 0
	for {
		ms, skipped, err := cfg.MediaProbe(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if msg := err.Error(); msg != lastErr { // a lasting failure is logged once
				log.Warn("notifier: camera/microphone check failed; not reported", "err", err)
				lastErr = msg
			}
		} else {
			lastErr = ""
			if skipped > 0 && skipped != lastSkipped {
				log.Warn("notifier: some camera/microphone uses cannot be reported", "skipped", skipped)
			}
			lastSkipped = skipped
			if sent.IsZero() || !slices.Equal(ms, last) || time.Since(sent) >= keepAlive-interval/2 {
				if err := sendMedia(c, ms); err != nil {
					return err
				}
				last, sent = ms, time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sendMedia sends ms, dropping uses from the end while the frame would
// be too large (long process paths are the only way).
func sendMedia(c *localipc.Client, ms []localipc.MediaUse) error {
	for {
		err := c.Media(ms)
		if !errors.Is(err, localipc.ErrFrameTooLarge) || len(ms) == 0 {
			return err
		}
		ms = ms[:len(ms)/2]
	}
}
