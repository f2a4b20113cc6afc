package localipc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server defaults.
const (
	// maxReason bounds the text of a refusal (IpcRefused.reason).
	maxReason         = 1024
	ipcPingInterval   = 30 * time.Second
	ipcHelloTimeout   = 10 * time.Second
	ipcWriteTimeout   = 5 * time.Second
	ipcMaxConns       = 1024 // open connections in all
	ipcMaxConnsPerUID = 8    // open connections of one peer uid, hello or not
	// A notifier sends a media frame when what it sees changes (it probes
	// every few seconds) and every MediaTTL/3 to keep it alive: a burst of
	// ipcMediaBurst frames is allowed per user (all the user's
	// connections together, so that more connections buy nothing), then
	// one per ipcMediaEvery (30 a minute). A connection that sends more is
	// closed.
	ipcMediaBurst = 20
	ipcMediaEvery = 2 * time.Second
	// ipcLogEvery: of the refusals of one reason, the first and then every
	// ipcLogEvery-th are logged (all are counted, see Server.Refused).
	ipcLogEvery = 100
	// ipcMaxUnanswered bounds the notices one connection may leave
	// unanswered: beyond it the oldest is forgotten (a Deliver waiting
	// for it counts it as not shown).
	ipcMaxUnanswered = 64
)

// Reasons a media frame or a use in it is refused (Server.Refused).
const (
	// RefusedMediaRate: the user's media frames came faster than the budget.
	RefusedMediaRate = "media_rate"
	// RefusedMediaForeignPID: a use named a process that is not the
	// connecting user's (or that does not exist).
	RefusedMediaForeignPID = "media_foreign_pid"
	// RefusedAnswerUnsent: a notifier answered (shown, not_shown) more
	// notices than it was sent; its connection is closed.
	RefusedAnswerUnsent = "answer_unsent"
)

// mediaBucket is the media frame budget of one user (token bucket): it
// refills at one frame per ipcMediaEvery up to ipcMediaBurst frames.
type mediaBucket struct {
	budget time.Duration
	at     time.Time
}

func (b *mediaBucket) allow(now time.Time) bool {
	const full = ipcMediaBurst * ipcMediaEvery
	if b.at.IsZero() {
		b.budget = full
	} else {
		b.budget = min(full, b.budget+now.Sub(b.at))
	}
	b.at = now
	if b.budget < ipcMediaEvery {
		return false
	}
	b.budget -= ipcMediaEvery
	return true
}

type sessionKey struct {
	uid     int
	session string
}

// serverConn is one accepted connection.
type serverConn struct {
	*conn
	peer    peerInfo
	session Session // set when registered
	key     sessionKey
	// media: the connection reported media (OnMedia is told when it
	// ends).
	media bool
	// sent counts the notices written to the connection; answers (its
	// goroutine's alone) the shown and not_shown frames it sent back.
	sent    atomic.Int64
	answers int64
	// unanswered are the notices written to the connection and not
	// answered yet, oldest first (guarded by Server.mu): the notifier
	// answers them in order.
	unanswered []*pending
	// nmu keeps the order of unanswered that of the notices written.
	nmu sync.Mutex
}

// pending is a notice written to a notifier and not answered yet.
type pending struct {
	key string
	// ch receives the answer when Deliver waits for one (nil for Send);
	// done is set once it did, or once the wait ended.
	ch   chan answer
	done bool
}

// resolve hands a to the wait for p, if any still waits (under Server.mu).
func (p *pending) resolve(a answer) {
	if p.ch != nil && !p.done {
		p.ch <- a // buffered: one answer per wait
	}
	p.done = true
}

// answer is a notifier's answer to a notice.
type answer struct {
	shown  bool
	reason string
}

// Result is what became of a notice in one session (Server.Deliver).
type Result struct {
	Session Session
	// Shown is set when the session's notifier reported that it displayed
	// the notice.
	Shown bool
	// Reason says why it was not displayed: the notifier's report, no
	// answer within the wait, the connection failing.
	Reason string
}

// allowMedia spends one media frame from the budget of the connection's
// user.
func (s *Server) allowMedia(uid int, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mediaBuckets == nil {
		s.mediaBuckets = make(map[int]*mediaBucket)
	}
	b := s.mediaBuckets[uid]
	if b == nil {
		b = &mediaBucket{}
		s.mediaBuckets[uid] = b
	}
	return b.allow(now)
}

// refused counts a refusal and reports whether to log it (the first, then
// every ipcLogEvery-th of its reason).
func (s *Server) refused(reason string, n int) (log bool, total uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refusals == nil {
		s.refusals = make(map[string]uint64)
	}
	before := s.refusals[reason]
	s.refusals[reason] = before + uint64(n)
	return before == 0 || before/ipcLogEvery != (before+uint64(n))/ipcLogEvery, before + uint64(n)
}

// Refused returns how many media frames (RefusedMediaRate) and uses
// (RefusedMediaForeignPID) were refused, by reason.
func (s *Server) Refused() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.refusals)
}

// ownMedia keeps the uses of processes the session's user owns (and those
// with no process, pid 0: a device in use by an unknown process, which
// the user's session may report). A use naming another user's process,
// or one that does not exist, is dropped and counted: a user may not make
// another user's app appear to use the camera.
func (s *Server) ownMedia(sess Session, ms []MediaUse) (kept []MediaUse, dropped int) {
	owner := s.ProcessOwner
	if owner == nil {
		owner = ProcessOwner
	}
	kept = make([]MediaUse, 0, len(ms))
	for _, m := range ms {
		if m.PID != 0 {
			if uid, err := owner(int(m.PID)); err != nil || uid != sess.UID {
				dropped++
				continue
			}
		}
		kept = append(kept, m)
	}
	return kept, dropped
}

// peerInfo is who the OS says is on the other end of a connection.
type peerInfo struct {
	UID  int    // uid on unix, session id on Windows
	PID  int    // 0 when unknown
	User string // Windows SID
}

// Server is the service's side: it accepts notifiers, checks who they
// are, and sends them notices. The zero value is ready for Listen then
// Serve; the optional fields must be set before Listen. A Server is used
// once: after Close or the end of Serve it does not listen again.
type Server struct {
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
	// OnShown, if set, is called when a notifier reports that it
	// displayed a notice. It runs on the connection's goroutine: it must
	// not block for long. It may call Send.
	OnShown func(s Session, key string)
	// OnConnect, if set, is called when a notifier has been welcomed, on
	// the connection's goroutine before it reads the notifier's frames:
	// it must not block (start a goroutine to Deliver to it). See also
	// AddConnectHook.
	OnConnect func(s Session)
	// OnMedia, if set, is called with the cameras and microphones in use
	// that a notifier reports from its session (validated, at most
	// MaxMediaUses), and with nil when that notifier disconnects, so its
	// report goes at once. The uses belong to s.UID, the peer uid the OS
	// reported: the agent turns them into devices.Use with Session.Owner.
	// It runs on the connection's goroutine: it
	// must not block for long. Without it media frames are ignored.
	OnMedia func(s Session, media []MediaUse)
	// ProcessOwner returns the uid (on Windows: the session id) owning a
	// process; a media use is passed to OnMedia only when its process is
	// the reporting user's. nil means the package's ProcessOwner.
	ProcessOwner func(pid int) (int, error)
	// PingInterval is how often connected notifiers are pinged, to find
	// dead connections; 0 means 30 s.
	PingInterval time.Duration
	// HelloTimeout is how long a new connection may take to say hello;
	// 0 means 10 s.
	HelloTimeout time.Duration
	// WriteTimeout bounds one write to a notifier; 0 means 5 s.
	WriteTimeout time.Duration

	mu       sync.Mutex
	ln       net.Listener
	path     string
	serving  bool
	closed   bool
	conns    map[*serverConn]struct{}
	perUID   map[int]int
	sessions map[sessionKey]*serverConn
	// mediaBuckets: the media frame budget of each peer uid, kept across
	// its connections (reconnecting does not refill it).
	mediaBuckets map[int]*mediaBucket
	refusals     map[string]uint64
	connectHooks []func(Session)
}

// AddConnectHook adds fn to the functions called, like OnConnect, when a
// notifier has been welcomed. Unlike OnConnect it may be called while the
// server runs: a notifier welcomed before does not see it.
func (s *Server) AddConnectHook(fn func(Session)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connectHooks = append(s.connectHooks, fn)
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Server) writeTimeout() time.Duration {
	return cmp.Or(s.WriteTimeout, ipcWriteTimeout)
}

// Listen opens the socket (Linux, macOS) or named pipe (Windows) at path,
// DefaultPath when path is "". On unix it creates the directory (0755)
// if needed, refuses a directory others can write to, removes a stale
// socket nobody answers on and makes the socket 0666: who may talk is
// decided per connection from the peer's credentials.
func (s *Server) Listen(path string) error {
	if path == "" {
		path = DefaultPath
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("ipc: listen on %s: %w", path, net.ErrClosed)
	}
	if s.ln != nil {
		return fmt.Errorf("ipc: listen on %s: already listening on %s", path, s.path)
	}
	ln, err := ipcListen(path, s.logger())
	if err != nil {
		return fmt.Errorf("ipc: listen on %s: %w", path, err)
	}
	s.ln, s.path = ln, path
	return nil
}

// Addr returns the path the server listens on, "" before Listen.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.path
}

// Serve accepts notifiers until ctx is cancelled or Close is called, then
// closes every connection, waits for all its goroutines and returns nil.
// It returns an error if Listen was not called or accepting fails for
// good.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	ln := s.ln
	switch {
	case s.closed:
		s.mu.Unlock()
		return fmt.Errorf("ipc: serve: %w", net.ErrClosed)
	case ln == nil:
		s.mu.Unlock()
		return errors.New("ipc: serve: Listen was not called")
	case s.serving:
		s.mu.Unlock()
		return errors.New("ipc: serve: already serving")
	}
	s.serving = true
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		<-ctx.Done()
		s.Close()
	})
	wg.Go(func() { s.pingLoop(ctx) })

	log := s.logger()
	var serveErr error
	delay := time.Duration(0)
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				break
			}
			if errors.Is(err, net.ErrClosed) {
				serveErr = fmt.Errorf("ipc: accept on %s: %w", s.Addr(), err)
				break
			}
			// Out of file descriptors and the like: wait and retry.
			delay = min(max(2*delay, 10*time.Millisecond), time.Second)
			log.Warn("ipc: accept failed; retrying", "path", s.Addr(), "error", err, "retry_in", delay)
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		sc := &serverConn{conn: newConn(c)}
		if !s.track(sc) {
			log.Warn("ipc: too many notifier connections; closing a new one", "max", ipcMaxConns)
			c.Close()
			continue
		}
		wg.Go(func() { s.handle(sc) })
	}
	cancel()
	s.Close()
	wg.Wait()
	return serveErr
}

// Close stops listening and closes every connection. Serve returns once
// its goroutines have ended. Close may be called more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ln := s.ln
	conns := make([]*serverConn, 0, len(s.conns))
	for sc := range s.conns {
		conns = append(conns, sc)
	}
	s.mu.Unlock()
	var err error
	if ln != nil {
		err = ln.Close()
	}
	for _, sc := range conns {
		sc.c.Close()
	}
	if err != nil {
		return fmt.Errorf("ipc: close %s: %w", s.Addr(), err)
	}
	return nil
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// track adds a new connection, false if the server is closed or full.
func (s *Server) track(sc *serverConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.conns) >= ipcMaxConns {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[*serverConn]struct{})
		s.perUID = make(map[int]int)
		s.sessions = make(map[sessionKey]*serverConn)
	}
	s.conns[sc] = struct{}{}
	return true
}

// handle runs one connection: identify, hello, register, then read the
// notifier's answers and media reports until it ends.
func (s *Server) handle(sc *serverConn) {
	log := s.logger()
	counted := false
	defer func() {
		sc.c.Close()
		s.mu.Lock()
		delete(s.conns, sc)
		if counted {
			if s.perUID[sc.peer.UID]--; s.perUID[sc.peer.UID] <= 0 {
				delete(s.perUID, sc.peer.UID)
			}
		}
		registered := s.sessions[sc.key] == sc
		if registered {
			delete(s.sessions, sc.key)
		}
		for _, p := range sc.unanswered {
			p.resolve(answer{reason: "the notifier disconnected before it answered"})
		}
		sc.unanswered = nil
		s.mu.Unlock()
		if registered {
			log.Info("ipc: notifier disconnected", "uid", sc.session.UID, "session", sc.session.Session)
			if sc.media && s.OnMedia != nil {
				s.OnMedia(sc.session, nil)
			}
		}
	}()

	peer, err := peerIdentity(sc.c)
	if err != nil {
		log.Warn("ipc: cannot identify the connecting process; closing", "error", err)
		return
	}
	sc.peer = peer
	log = log.With("peer_uid", peer.UID, "peer_pid", peer.PID)
	if peer.User != "" {
		log = log.With("peer_user", peer.User)
	}
	s.mu.Lock()
	if s.perUID[peer.UID] >= ipcMaxConnsPerUID {
		s.mu.Unlock()
		log.Warn("ipc: too many connections from one user; closing", "max", ipcMaxConnsPerUID)
		return
	}
	s.perUID[peer.UID]++
	counted = true
	s.mu.Unlock()

	if err := sc.c.SetReadDeadline(time.Now().Add(cmp.Or(s.HelloTimeout, ipcHelloTimeout))); err != nil {
		return
	}
	line, err := sc.r.next()
	if err != nil {
		s.refuse(sc, log, fmt.Sprintf("no hello: %v", err))
		return
	}
	f, err := DecodeFrame(line)
	if err != nil {
		s.refuse(sc, log, err.Error())
		return
	}
	if f.Type != FrameHello {
		s.refuse(sc, log, fmt.Sprintf("expected a hello frame first, got %q", f.Type))
		return
	}
	if f.Hello.UID != peer.UID {
		s.refuse(sc, log.With("claimed_uid", f.Hello.UID),
			fmt.Sprintf("hello claims uid %d but the connecting process runs as uid %d", f.Hello.UID, peer.UID))
		return
	}
	_ = sc.c.SetReadDeadline(time.Time{})

	sc.key = sessionKey{uid: peer.UID, session: f.Hello.Session}
	sc.session = Session{UID: peer.UID, Session: f.Hello.Session, Lang: f.Hello.Lang, PID: peer.PID, User: peer.User, Since: time.Now()}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	old := s.sessions[sc.key]
	s.sessions[sc.key] = sc
	s.mu.Unlock()
	if old != nil {
		log.Info("ipc: notifier reconnected; closing its previous connection", "uid", peer.UID, "session", f.Hello.Session, "old_pid", old.peer.PID)
		old.c.Close()
	}
	if err := sc.writeFrame(Frame{Type: FrameWelcome}, s.writeTimeout()); err != nil {
		log.Warn("ipc: cannot welcome the notifier", "error", err)
		return
	}
	log.Info("ipc: notifier connected", "uid", peer.UID, "session", f.Hello.Session, "lang", f.Hello.Lang)
	s.mu.Lock()
	hooks := slices.Clone(s.connectHooks)
	s.mu.Unlock()
	if s.OnConnect != nil {
		hooks = append(hooks, s.OnConnect)
	}
	for _, fn := range hooks {
		fn(sc.session)
	}

	for {
		line, err := sc.r.next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				log.Warn("ipc: notifier connection failed", "error", err)
			}
			return
		}
		f, err := DecodeFrame(line)
		if err != nil {
			log.Warn("ipc: bad frame from the notifier; closing", "error", err)
			return
		}
		switch f.Type {
		case FrameShown, FrameNotShown:
			// A notifier answers each notice once: an answer to more
			// notices than it was sent is a forgery or a bug.
			if sc.answers++; sc.answers > sc.sent.Load() {
				if logIt, total := s.refused(RefusedAnswerUnsent, 1); logIt {
					log.Warn("ipc: notifier answered more notices than it was sent; closing", "key", f.Key, "refused_total", total)
				}
				return
			}
			s.answer(sc, f.Key, answer{shown: f.Type == FrameShown, reason: f.Reason})
			if f.Type == FrameShown && s.OnShown != nil {
				s.OnShown(sc.session, f.Key)
			}
		case FrameMedia:
			if !s.allowMedia(sc.peer.UID, time.Now()) {
				if logIt, total := s.refused(RefusedMediaRate, 1); logIt {
					log.Warn("ipc: notifier sends media reports too fast; closing", "max_per_minute", int(time.Minute/ipcMediaEvery), "burst", ipcMediaBurst, "refused_total", total)
				}
				return
			}
			s.mu.Lock()
			current := s.sessions[sc.key] == sc // not replaced by a reconnection
			s.mu.Unlock()
			if current && s.OnMedia != nil {
				ms, dropped := s.ownMedia(sc.session, f.Media)
				if dropped > 0 {
					if logIt, total := s.refused(RefusedMediaForeignPID, dropped); logIt {
						log.Warn("ipc: media report names processes that are not the user's; those uses are ignored", "dropped", dropped, "refused_total", total)
					}
				}
				sc.media = true
				s.OnMedia(sc.session, ms)
			}
		default:
			log.Warn("ipc: unexpected frame from the notifier; closing", "type", f.Type)
			return
		}
	}
}

// refuse tells the notifier why (best effort) and logs it; the caller
// closes the connection.
func (s *Server) refuse(sc *serverConn, log *slog.Logger, reason string) {
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	reason = strings.ToValidUTF8(reason, "?")
	log.Warn("ipc: notifier refused", "reason", reason)
	_ = sc.writeFrame(Frame{Type: FrameRefused, Reason: reason}, time.Second)
}

// pingLoop pings every session; a failed write closes the connection.
func (s *Server) pingLoop(ctx context.Context) {
	t := time.NewTicker(cmp.Or(s.PingInterval, ipcPingInterval))
	defer t.Stop()
	line, _ := EncodeFrame(Frame{Type: FramePing})
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, sc := range s.targets(func(*serverConn) bool { return true }) {
			s.write(sc, line)
		}
	}
}

// targets returns the registered connections that match, ordered by uid
// and session.
func (s *Server) targets(match func(*serverConn) bool) []*serverConn {
	s.mu.Lock()
	var out []*serverConn
	for _, sc := range s.sessions {
		if match(sc) {
			out = append(out, sc)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *serverConn) int {
		return cmp.Or(cmp.Compare(a.key.uid, b.key.uid), cmp.Compare(a.key.session, b.key.session))
	})
	return out
}

// write writes a frame to one session; on failure it closes the
// connection (its goroutine then unregisters it).
func (s *Server) write(sc *serverConn, line []byte) error {
	if err := sc.write(line, s.writeTimeout()); err != nil {
		s.logger().Warn("ipc: write to notifier failed; closing", "uid", sc.session.UID, "session", sc.session.Session, "error", err)
		sc.c.Close()
		return fmt.Errorf("uid %d session %q: %w", sc.session.UID, sc.session.Session, err)
	}
	return nil
}

// Send delivers n to every connected session of the user uid. It fails
// with ErrNoSession when none is connected, and with the write errors
// when no session got it. It does not wait for the notifiers' answers:
// Deliver does.
func (s *Server) Send(uid int, n Notice) error {
	return s.send(n, fmt.Sprintf("uid %d", uid), func(sc *serverConn) bool { return sc.key.uid == uid })
}

// Broadcast delivers n to every connected session. It fails with
// ErrNoSession when none is connected, and with the write errors when no
// session got it.
func (s *Server) Broadcast(n Notice) error {
	return s.send(n, "any user", func(*serverConn) bool { return true })
}

func (s *Server) send(n Notice, who string, match func(*serverConn) bool) error {
	line, err := EncodeFrame(Frame{Type: FrameNotice, Notice: n})
	if err != nil {
		return fmt.Errorf("ipc: send to %s: %w", who, err)
	}
	targets := s.targets(match)
	if len(targets) == 0 {
		return fmt.Errorf("ipc: send to %s: %w", who, ErrNoSession)
	}
	var errs []error
	for _, sc := range targets {
		if _, err := s.writeNotice(sc, line, n.Key, false); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == len(targets) {
		return fmt.Errorf("ipc: send to %s: %w", who, errors.Join(errs...))
	}
	return nil
}

// Sessions returns the connected sessions, ordered by uid and session.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	out := make([]Session, 0, len(s.sessions))
	for _, sc := range s.sessions {
		out = append(out, sc.session)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Session) int {
		return cmp.Or(cmp.Compare(a.UID, b.UID), cmp.Compare(a.Session, b.Session))
	})
	return out
}

// Deliver sends n to every connected session of the user uid and waits,
// at most wait, for each session's answer: displayed, or not and why. It
// returns one Result per session it was sent to, ordered by session, and
// fails with ErrNoSession when none is connected (or ErrBadFrame for a
// notice that cannot be sent). When ctx ends the sessions that have not
// answered count as not shown. The notifiers answer in the order they
// were sent notices; a late answer is not taken for a later notice's.
func (s *Server) Deliver(ctx context.Context, uid int, n Notice, wait time.Duration) ([]Result, error) {
	return s.deliver(ctx, n, wait, fmt.Sprintf("uid %d", uid), func(sc *serverConn) bool { return sc.key.uid == uid })
}

// DeliverSession is Deliver to one session: the connection of sess (as
// OnConnect or Sessions gave it), not a later one of the same login
// session.
func (s *Server) DeliverSession(ctx context.Context, sess Session, n Notice, wait time.Duration) ([]Result, error) {
	return s.deliver(ctx, n, wait, fmt.Sprintf("uid %d session %q", sess.UID, sess.Session), func(sc *serverConn) bool {
		return sc.key == sessionKey{uid: sess.UID, session: sess.Session} && sc.session.Since.Equal(sess.Since)
	})
}

func (s *Server) deliver(ctx context.Context, n Notice, wait time.Duration, who string, match func(*serverConn) bool) ([]Result, error) {
	line, err := EncodeFrame(Frame{Type: FrameNotice, Notice: n})
	if err != nil {
		return nil, fmt.Errorf("ipc: deliver to %s: %w", who, err)
	}
	targets := s.targets(match)
	if len(targets) == 0 {
		return nil, fmt.Errorf("ipc: deliver to %s: %w", who, ErrNoSession)
	}
	results := make([]Result, len(targets))
	waits := make([]*pending, len(targets))
	for i, sc := range targets {
		results[i].Session = sc.session
		p, err := s.writeNotice(sc, line, n.Key, true)
		if err != nil {
			results[i].Reason = OneLine("sending to the notifier failed: "+err.Error(), MaxNotShownReason)
			continue
		}
		waits[i] = p
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	over := ""
	for i, p := range waits {
		if p == nil {
			continue
		}
		var a answer
		got := false
		if over == "" {
			select {
			case a = <-p.ch:
				got = true
			case <-timer.C:
				over = fmt.Sprintf("no answer from the notifier within %s", wait)
			case <-ctx.Done():
				over = "the service stopped waiting before the notifier answered"
			}
		}
		if !got {
			if s.expire(p) {
				results[i].Reason = over
				continue
			}
			a = <-p.ch // answered meanwhile
		}
		results[i].Shown, results[i].Reason = a.shown, a.reason
	}
	return results, nil
}

// writeNotice records the notice key as unanswered on sc (with a wait for
// its answer when wait is set) and writes it. Beyond ipcMaxUnanswered
// the oldest unanswered notice is forgotten.
func (s *Server) writeNotice(sc *serverConn, line []byte, key string, wait bool) (*pending, error) {
	p := &pending{key: key}
	if wait {
		p.ch = make(chan answer, 1)
	}
	sc.nmu.Lock()
	defer sc.nmu.Unlock()
	s.mu.Lock()
	sc.unanswered = append(sc.unanswered, p)
	if len(sc.unanswered) > ipcMaxUnanswered {
		sc.unanswered[0].resolve(answer{reason: fmt.Sprintf("the notifier left %d later notices unanswered", ipcMaxUnanswered)})
		sc.unanswered = slices.Delete(sc.unanswered, 0, 1)
	}
	s.mu.Unlock()
	sc.sent.Add(1)
	if err := s.write(sc, line); err != nil {
		s.mu.Lock()
		p.done = true // the connection is closed: nothing will answer
		s.mu.Unlock()
		return nil, err
	}
	return p, nil
}

// expire ends the wait for p; false when it was answered (or ended with
// the connection) meanwhile, and its answer is in p.ch. The notice stays
// unanswered: the notifier's late answer is matched to it and dropped.
func (s *Server) expire(p *pending) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.done {
		return false
	}
	p.done = true
	return true
}

// answer hands a notifier's answer to the oldest notice it has not
// answered. The notifier answers in order: an answer about another key
// is about a notice already forgotten (ipcMaxUnanswered) and is dropped.
func (s *Server) answer(sc *serverConn, key string, a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(sc.unanswered) == 0 || sc.unanswered[0].key != key {
		return
	}
	sc.unanswered[0].resolve(a)
	sc.unanswered = slices.Delete(sc.unanswered, 0, 1)
}
