package connlimit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Sampler logs at most one line per reason per Every (10 s if 0), with the
// number of occurrences since the last line, so that a flood is visible in
// the log without filling it.
type Sampler struct {
	Logger *slog.Logger
	Every  time.Duration

	mu   sync.Mutex
	last map[string]time.Time
	n    map[string]int
}

// Log counts one occurrence of reason and, if the last line for reason is
// older than Every, logs msg at level with the count and args.
func (s *Sampler) Log(level slog.Level, reason, msg string, args ...any) {
	if s == nil || s.Logger == nil {
		return
	}
	every := s.Every
	if every <= 0 {
		every = 10 * time.Second
	}
	now := time.Now()
	s.mu.Lock()
	if s.last == nil {
		s.last, s.n = map[string]time.Time{}, map[string]int{}
	}
	s.n[reason]++
	if last, ok := s.last[reason]; ok && now.Sub(last) < every {
		s.mu.Unlock()
		return
	}
	n := s.n[reason]
	s.n[reason] = 0
	s.last[reason] = now
	s.mu.Unlock()
	s.Logger.Log(context.Background(), level, msg, append([]any{"reason", reason, "count_since_last_line", n}, args...)...)
}
