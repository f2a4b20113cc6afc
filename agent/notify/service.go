package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vcguard/vcguard/policies"
)

// Service is the system service's side: it decides whether a notice is
// shown (one per finding until it changes, then again after the quiet
// period) and hands it to every notifier running in a user session.
type Service struct {
	Server  *Server
	Limiter *Limiter
}

// Notify hands n to every connected notifier unless the limiter holds it
// back. It returns the number of sessions reached (0 when held back or
// when no user session runs a notifier) and whether it was held back.
func (s *Service) Notify(n Notice) (sessions int, limited bool) {
	if !s.Limiter.Allow(n) {
		return 0, true
	}
	if err := s.Server.Broadcast(ToWire(n)); err != nil {
		return 0, false
	}
	return len(s.Server.Sessions()), false
}

// Clear forgets a finding that went away, so that it is told again if it
// comes back (a relaunch).
func (s *Service) Clear(key string) { s.Limiter.Clear(key) }

// ToWire converts a notice for the IPC.
func ToWire(n Notice) NoticeWire {
	return NoticeWire{
		Key: n.Key, AppID: n.AppID, AppName: n.AppName, Verdict: string(n.Verdict), Action: string(n.Action),
		GraceSeconds: int(n.Grace / time.Second), Alternative: n.Alternative, AlternativeName: n.AlternativeName,
		Note: n.Note, InfoURL: n.InfoURL, Version: n.Version, MinVersion: n.MinVersion, Facts: n.Facts,
	}
}

// FromWire converts a notice received over the IPC.
func FromWire(w NoticeWire) Notice {
	return Notice{
		Key: w.Key, AppID: w.AppID, AppName: w.AppName, Verdict: policies.Verdict(w.Verdict), Action: policies.Action(w.Action),
		Grace: time.Duration(w.GraceSeconds) * time.Second, Alternative: w.Alternative, AlternativeName: w.AlternativeName,
		Note: w.Note, InfoURL: w.InfoURL, Version: w.Version, MinVersion: w.MinVersion, Facts: w.Facts,
	}
}

// NotifierConfig is what the per-user notifier runs with.
type NotifierConfig struct {
	// Path is the service's socket (pipe on Windows); "" for DefaultPath.
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
	uid, err := CurrentUID()
	if err != nil {
		return err
	}
	lang := Language(cfg.Locale)
	for {
		err := serveOnce(ctx, cfg, uid, lang)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrRefused) {
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
	c, err := Dial(ctx, cfg.Path)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(ctx, Hello{UID: uid, Lang: lang, Session: cfg.Session}); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	cfg.Logger.Info("notifier connected", "lang", lang)
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
