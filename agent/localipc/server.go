package localipc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
