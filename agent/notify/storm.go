package notify

import (
	"sync"
	"time"

	"github.com/vcguard/vcguard/policies"
)

// DefaultQuietPeriod is how long a Limiter stays quiet about a finding
// that persists unchanged before it reminds the person again.
const DefaultQuietPeriod = 30 * time.Minute

// Limiter keeps findings from becoming a notification storm. It lets a
// notice through the first time its key is seen, again when the notice's
// content (verdict or action) changes, and again when the finding persists
// unchanged for longer than the quiet period since it was last shown
// (banners vanish; an important warning deserves a reminder). Clear
// forgets a key when its finding goes away, so a relaunch warns again.
//
// The zero value is ready to use. A Limiter is safe for concurrent use.
type Limiter struct {
	// QuietPeriod is the time before an unchanged finding is shown again:
	// DefaultQuietPeriod when 0, never when negative.
	QuietPeriod time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time

	mu   sync.Mutex
	seen map[string]shown
}

// shown is what a Limiter remembers of the last notice shown for a key.
type shown struct {
	verdict policies.Verdict
	action  policies.Action
	at      time.Time
}

// Allow reports whether n should be shown now, and if so records it as
// shown. A notice without a key is limited by its app id.
func (l *Limiter) Allow(n Notice) bool {
	key := limiterKey(n)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	last, ok := l.seen[key]
	if ok && last.verdict == n.Verdict && last.action == n.Action {
		q := l.QuietPeriod
		if q == 0 {
			q = DefaultQuietPeriod
		}
		if q < 0 || now.Sub(last.at) < q {
			return false
		}
	}
	if l.seen == nil {
		l.seen = make(map[string]shown)
	}
	l.seen[key] = shown{verdict: n.Verdict, action: n.Action, at: now}
	return true
}

// Clear forgets the finding with key: the next notice for it is shown.
// Call it when the finding goes away (the app exits, the policy approves
// it).
func (l *Limiter) Clear(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.seen, key)
}

// Len returns the number of findings the Limiter remembers.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func limiterKey(n Notice) string {
	if n.Key != "" {
		return n.Key
	}
	return n.AppID
}
