package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vcguard/vcguard/agent/localipc"
)

// DefaultAnswerWait is how long the Service waits for the notifiers to
// report that they displayed a notice. A desktop notification over D-Bus
// takes milliseconds, but a Windows toast starts PowerShell, which takes
// seconds on a busy or slow laptop: a shorter wait would record notices
// as not shown that the person saw. The wait blocks nothing (Notify
// returns at once); it only delays the record. The notifier gives up on a
// display after DefaultShowTimeout, before the service does.
const DefaultAnswerWait = 10 * time.Second

// DefaultShowTimeout bounds the display of one notice in the notifier.
const DefaultShowTimeout = 8 * time.Second

// Bounds of the Service.
const (
	// maxInForce bounds the notices kept for notifiers that connect
	// later; beyond it the oldest is forgotten.
	maxInForce = 256
	// maxInFlight bounds the notices waiting for their answers at once;
	// beyond it a notice is not sent, and recorded as not shown.
	maxInFlight = 64
	// maxUnread bounds the outcomes waiting to be read from Delivered;
	// beyond it they are dropped, counted and logged.
	maxUnread = 256
	// maxFailures bounds the reasons one Delivery carries.
	maxFailures = 8
	// maxFailure bounds the bytes of one reason.
	maxFailure = 512
)

// Delivery is what became of a notice handed to the Service: how many
// user sessions displayed it and why the others did not.
type Delivery struct {
	Notice Notice
	// At is when the notice was handed to the notifiers.
	At time.Time
	// Sessions is the number of sessions whose notifier reported that the
	// notice was displayed.
	Sessions int
	// Lang lists the languages it was displayed in (comma-separated,
	// sorted); "" when nobody saw it.
	Lang string
	// Failures says why the notice was not displayed, one entry per
	// session that did not display it ("session 2: …"), or one entry
	// when no session was there to tell; empty when every session it was
	// sent to displayed it. At most 8 entries of at most 512 bytes.
	Failures []string
	// Replayed is set when the notice was shown to a notifier that
	// connected while its finding was in force, not for a new finding.
	Replayed bool
}

// Service is the system service's side: it decides whether a notice is
// shown (one per finding until it changes, then again after the quiet
// period) and hands it to the notifiers of the user who owns the app's
// process, and to nobody else: one user learns nothing of another's
// apps. It keeps the notices in force (until Clear) and shows them to a
// notifier that connects later (a login after the finding, a notifier
// restart) at once, whatever the limiter says. What became of each notice
// (the sessions that displayed it, why the others did not) arrives on
// Delivered once the notifiers answered or DefaultAnswerWait passed:
// Notify never waits for a display.
//
// A Service is safe for concurrent use. Close stops it.
type Service struct {
	Server  *localipc.Server
	Limiter *Limiter
	// ProcessOwner returns the uid (on Windows: the session id) owning a
	// process; nil means localipc.ProcessOwner.
	ProcessOwner func(pid int) (int, error)
	// Logger receives what is not told and why; nil means the Server's.
	Logger *slog.Logger
	// AnswerWait is how long to wait for the notifiers' answers; 0 means
	// DefaultAnswerWait.
	AnswerWait time.Duration

	once     sync.Once
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	out      chan Delivery
	inFlight chan struct{}

	mu      sync.Mutex
	closed  bool
	inForce map[string]inForce
	seq     uint64
	dropped uint64
}

// inForce is a notice kept for notifiers that connect later.
type inForce struct {
	n   Notice
	uid int
	seq uint64 // order of arrival: the oldest is forgotten first
}

// start makes the Service's channels and registers it with the Server for
// connecting notifiers: nothing is in force before the first Notify, so
// starting then misses nobody.
func (s *Service) start() {
	s.once.Do(func() {
		s.ctx, s.cancel = context.WithCancel(context.Background())
		s.out = make(chan Delivery, maxUnread)
		s.inFlight = make(chan struct{}, maxInFlight)
		s.Server.AddConnectHook(s.connected)
	})
}

// Delivered returns the channel on which the outcome of each notice
// arrives, once: for every Notify that was not held back, and for every
// notice in force shown to a notifier that connected later (Replayed).
// Read it: outcomes beyond 256 unread are dropped (and logged).
func (s *Service) Delivered() <-chan Delivery {
	s.start()
	return s.out
}

// Notify hands n to the connected notifiers of the user owning process
// n.PID unless the limiter holds it back (true): a repeat of a finding
// already told. It returns at once; the outcome arrives on Delivered: the
// sessions that displayed it, or why nobody did (that user runs no
// notifier, the display failed, the process's owner cannot be read
// because it exited).
func (s *Service) Notify(n Notice) (limited bool) {
	if !s.Limiter.Allow(n) {
		return true
	}
	s.start()
	at := time.Now()
	owner := s.ProcessOwner
	if owner == nil {
		owner = localipc.ProcessOwner
	}
	uid, err := owner(n.PID)
	if err != nil {
		s.logger().Info("notify: the app's owner is unknown; nobody is told", "app", n.AppID, "pid", n.PID, "error", err)
		s.report(Delivery{Notice: n, At: at, Failures: []string{localipc.OneLine("nobody was told: the app's user is unknown ("+err.Error()+")", maxFailure)}})
		return false
	}
	s.keep(n, uid)
	s.spawn(Delivery{Notice: n, At: at}, func(ctx context.Context) ([]localipc.Result, error) {
		return s.Server.Deliver(ctx, uid, ToWire(n), s.answerWait())
	})
	return false
}

// connected shows the notices in force for the user of a notifier that
// just connected, one after the other, on a goroutine of its own.
func (s *Service) connected(sess localipc.Session) {
	s.mu.Lock()
	var ns []inForce
	for _, f := range s.inForce {
		if f.uid == sess.UID {
			ns = append(ns, f)
		}
	}
	s.mu.Unlock()
	if len(ns) == 0 {
		return
	}
	slices.SortFunc(ns, func(a, b inForce) int { return cmp.Compare(a.seq, b.seq) })
	s.goOwned(func(ctx context.Context) {
		for _, f := range ns {
			if !s.stillInForce(f) {
				continue
			}
			d := Delivery{Notice: f.n, At: time.Now(), Replayed: true}
			results, err := s.Server.DeliverSession(ctx, sess, ToWire(f.n), s.answerWait())
			if errors.Is(err, localipc.ErrNoSession) {
				return // it left (or reconnected, and is shown them again): nothing was tried
			}
			s.report(outcome(d, results, err))
			if ctx.Err() != nil {
				return
			}
		}
	})
}

// spawn delivers on a goroutine of its own and reports the outcome; with
// maxInFlight notices already waiting it reports the notice as not sent.
func (s *Service) spawn(d Delivery, deliver func(context.Context) ([]localipc.Result, error)) {
	select {
	case s.inFlight <- struct{}{}:
	default:
		d.Failures = []string{fmt.Sprintf("not sent: %d notices are waiting for the notifiers' answers", maxInFlight)}
		s.report(d)
		return
	}
	if !s.goOwned(func(ctx context.Context) {
		defer func() { <-s.inFlight }()
		results, err := deliver(ctx)
		s.report(outcome(d, results, err))
	}) {
		<-s.inFlight
		d.Failures = []string{"not sent: the service is stopping"}
		s.report(d)
	}
}

// goOwned runs fn on a goroutine that Close waits for; false once closed.
func (s *Service) goOwned(fn func(ctx context.Context)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Go(func() { fn(s.ctx) })
	return true
}

// outcome turns the notifiers' answers into a Delivery.
func outcome(d Delivery, results []localipc.Result, err error) Delivery {
	switch {
	case errors.Is(err, localipc.ErrNoSession):
		d.Failures = []string{"nobody was told: no notifier is running for the app's user"}
		return d
	case err != nil:
		d.Failures = []string{localipc.OneLine("nobody was told: "+err.Error(), maxFailure)}
		return d
	}
	var langs []string
	for _, r := range results {
		if r.Shown {
			d.Sessions++
			if r.Session.Lang != "" && !slices.Contains(langs, r.Session.Lang) {
				langs = append(langs, r.Session.Lang)
			}
			continue
		}
		if len(d.Failures) == maxFailures-1 && len(results)-d.Sessions > maxFailures {
			continue // counted below
		}
		d.Failures = append(d.Failures, localipc.OneLine(fmt.Sprintf("session %q: %s", r.Session.Session, r.Reason), maxFailure))
	}
	if failed := len(results) - d.Sessions; failed > len(d.Failures) {
		d.Failures = append(d.Failures, fmt.Sprintf("and %d more sessions", failed-len(d.Failures)))
	}
	slices.Sort(langs)
	d.Lang = strings.Join(langs, ",")
	return d
}

// report hands d to Delivered, or drops it when nobody reads.
func (s *Service) report(d Delivery) {
	select {
	case s.out <- d:
		return
	default:
	}
	s.mu.Lock()
	s.dropped++
	n := s.dropped
	s.mu.Unlock()
	if n == 1 || n%100 == 0 {
		s.logger().Warn("notify: outcomes of notices are not read; dropped", "app", d.Notice.AppID, "dropped_total", n)
	}
}

// keep remembers n as in force for the user uid, forgetting the oldest
// beyond maxInForce.
func (s *Service) keep(n Notice, uid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inForce == nil {
		s.inForce = make(map[string]inForce)
	}
	s.seq++
	s.inForce[limiterKey(n)] = inForce{n: n, uid: uid, seq: s.seq}
	if len(s.inForce) > maxInForce {
		oldest, first := "", true
		var least uint64
		for k, f := range s.inForce {
			if first || f.seq < least {
				oldest, least, first = k, f.seq, false
			}
		}
		delete(s.inForce, oldest)
	}
}

// stillInForce reports whether f was neither cleared nor replaced.
func (s *Service) stillInForce(f inForce) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.inForce[limiterKey(f.n)]
	return ok && cur.seq == f.seq
}

func (s *Service) answerWait() time.Duration {
	if s.AnswerWait > 0 {
		return s.AnswerWait
	}
	return DefaultAnswerWait
}

// Close stops the Service: the waits for answers end (what did not answer
// yet counts as not shown) and Close returns once their outcomes are
// reported. Notices handed in after Close are recorded as not sent.
func (s *Service) Close() error {
	s.start()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
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

// Clear forgets a finding that went away: it is no longer shown to
// notifiers that connect, and told again if it comes back (a relaunch).
func (s *Service) Clear(key string) {
	s.Limiter.Clear(key)
	s.mu.Lock()
	delete(s.inForce, key)
	s.mu.Unlock()
}

// ToWire converts a notice for the IPC.
func ToWire(n Notice) localipc.Notice {
	return localipc.Notice{
		Key: n.Key, AppID: n.AppID, AppName: n.AppName, Verdict: n.Verdict, Action: n.Action,
		GraceSeconds: int(n.Grace / time.Second), Alternative: n.Alternative, AlternativeName: n.AlternativeName,
		Note: n.Note, InfoURL: n.InfoURL, Version: n.Version, MinVersion: n.MinVersion, Facts: n.Facts,
		MediaFinding: n.MediaFinding, DeviceKind: n.DeviceKind, Process: n.Process,
		ConnectionFinding: n.ConnectionFinding, ConnectionDetail: n.ConnectionDetail,
		SiteFinding: n.SiteFinding, SiteServices: slices.Clone(n.SiteServices),
		PostureFinding: n.PostureFinding, PostureDetail: n.PostureDetail,
		EmbeddedServices: slices.Clone(n.EmbeddedServices),
	}
}

// FromWire converts a notice received over the IPC.
func FromWire(w localipc.Notice) Notice {
	return Notice{
		Key: w.Key, AppID: w.AppID, AppName: w.AppName, Verdict: w.Verdict, Action: w.Action,
		Grace: time.Duration(w.GraceSeconds) * time.Second, Alternative: w.Alternative, AlternativeName: w.AlternativeName,
		Note: w.Note, InfoURL: w.InfoURL, Version: w.Version, MinVersion: w.MinVersion, Facts: w.Facts,
		MediaFinding: w.MediaFinding, DeviceKind: w.DeviceKind, Process: w.Process,
		ConnectionFinding: w.ConnectionFinding, ConnectionDetail: w.ConnectionDetail,
		SiteFinding: w.SiteFinding, SiteServices: slices.Clone(w.SiteServices),
		PostureFinding: w.PostureFinding, PostureDetail: w.PostureDetail,
		EmbeddedServices: slices.Clone(w.EmbeddedServices),
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
	// ShowTimeout bounds the display of one notice; 0 means
	// DefaultShowTimeout (under the service's DefaultAnswerWait). A
	// display that takes longer is
	// reported as not shown.
	ShowTimeout time.Duration
}

// RunNotifier connects to the service, shows every notice it sends in the
// user's language and answers each: shown, or not shown and why (the
// display failed or took longer than ShowTimeout); it reconnects when the
// service restarts, until ctx ends.
func RunNotifier(ctx context.Context, cfg NotifierConfig) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 5 * time.Second
	}
	if cfg.ShowTimeout <= 0 {
		cfg.ShowTimeout = DefaultShowTimeout
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
		sctx, cancel := context.WithTimeout(ctx, cfg.ShowTimeout)
		err = cfg.Display.Show(sctx, m)
		if err != nil && errors.Is(sctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("the display did not finish within %s: %w", cfg.ShowTimeout, err)
		}
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			cfg.Logger.Warn("notice not shown", "app", w.AppID, "err", err)
			if err := c.NotShown(w.Key, err.Error()); err != nil {
				return err
			}
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
