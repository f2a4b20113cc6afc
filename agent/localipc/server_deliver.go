package localipc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Notices to the sessions, and what became of them: Send and Broadcast
// write, Deliver also waits for each notifier's answer.

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
