package localipc

import (
	"maps"
	"time"
)

// The budget and ownership checks of the camera and microphone reports
// notifiers send.

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
