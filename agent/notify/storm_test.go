package notify

import (
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/policies"
)

// stepClock is a clock a test moves by hand.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func newStepClock() *stepClock {
	return &stepClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	zoomWarn := Notice{Key: "zoom/1", AppID: "zoom", Verdict: policies.VerdictForbidden, Action: policies.ActionWarn}
	zoomBlock := zoomWarn
	zoomBlock.Action = policies.ActionBlock
	zoomOutdated := zoomWarn
	zoomOutdated.Verdict = policies.VerdictOutdated
	zoomNote := zoomWarn
	zoomNote.Note = policies.PlainNote("new note")
	teams := Notice{Key: "teams/1", AppID: "microsoft-teams", Verdict: policies.VerdictRestricted, Action: policies.ActionWarn}
	noKey := Notice{AppID: "skype", Verdict: policies.VerdictForbidden, Action: policies.ActionWarn}

	type step struct {
		after time.Duration // clock advance before the step
		clear string        // key to clear instead of asking
		n     Notice
		want  bool
	}
	tests := []struct {
		name  string
		quiet time.Duration
		steps []step
	}{
		{"first is shown, repeats are not", 0, []step{
			{n: zoomWarn, want: true},
			{n: zoomWarn, want: false},
			{after: time.Second, n: zoomWarn, want: false},
		}},
		{"keys are independent", 0, []step{
			{n: zoomWarn, want: true},
			{n: teams, want: true},
			{n: teams, want: false},
			{n: zoomWarn, want: false},
		}},
		{"a change of action or verdict is shown", 0, []step{
			{n: zoomWarn, want: true},
			{n: zoomBlock, want: true},
			{n: zoomBlock, want: false},
			{n: zoomOutdated, want: true},
			{n: zoomWarn, want: true},
		}},
		{"other content changes are not", 0, []step{
			{n: zoomWarn, want: true},
			{n: zoomNote, want: false},
		}},
		{"default quiet period is 30 minutes", 0, []step{
			{n: zoomWarn, want: true},
			{after: 29*time.Minute + 59*time.Second, n: zoomWarn, want: false},
			{after: time.Second, n: zoomWarn, want: true},
			{after: 10 * time.Minute, n: zoomWarn, want: false},
			{after: 20 * time.Minute, n: zoomWarn, want: true},
		}},
		{"configured quiet period", 5 * time.Minute, []step{
			{n: zoomWarn, want: true},
			{after: 4 * time.Minute, n: zoomWarn, want: false},
			{after: time.Minute, n: zoomWarn, want: true},
		}},
		{"negative quiet period never repeats", -1, []step{
			{n: zoomWarn, want: true},
			{after: 1000 * time.Hour, n: zoomWarn, want: false},
			{n: zoomBlock, want: true},
		}},
		{"clear lets a relaunch warn again", 0, []step{
			{n: zoomWarn, want: true},
			{n: zoomWarn, want: false},
			{clear: "zoom/1"},
			{n: zoomWarn, want: true},
			{n: zoomWarn, want: false},
			{clear: "never-seen"},
			{n: teams, want: true},
		}},
		{"a notice without key is limited by app id", 0, []step{
			{n: noKey, want: true},
			{n: noKey, want: false},
			{clear: "skype"},
			{n: noKey, want: true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newStepClock()
			l := &Limiter{QuietPeriod: tc.quiet, Now: clock.Now}
			for i, s := range tc.steps {
				clock.Advance(s.after)
				if s.clear != "" {
					l.Clear(s.clear)
					continue
				}
				if got := l.Allow(s.n); got != s.want {
					t.Errorf("step %d: Allow(%s %s/%s) = %v, want %v", i, s.n.Key, s.n.Verdict, s.n.Action, got, s.want)
				}
			}
		})
	}
}

func TestLimiterZeroValue(t *testing.T) {
	t.Parallel()
	var l Limiter
	l.Clear("x") // no panic on the nil map
	n := Notice{Key: "x", Verdict: policies.VerdictForbidden, Action: policies.ActionWarn}
	if !l.Allow(n) || l.Allow(n) {
		t.Error("zero Limiter: want first allowed, second not")
	}
	if l.Len() != 1 {
		t.Errorf("Len = %d, want 1", l.Len())
	}
}

func TestLimiterConcurrent(t *testing.T) {
	t.Parallel()
	var l Limiter
	n := Notice{Key: "x", Verdict: policies.VerdictForbidden, Action: policies.ActionWarn}
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Go(func() {
			if l.Allow(n) {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 1 {
		t.Errorf("%d of 50 concurrent identical notices allowed, want 1", allowed)
	}
}
