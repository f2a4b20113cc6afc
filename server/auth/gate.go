package auth

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// BusyError is returned when the password checks of this replica are all
// taken and the attempt would wait longer than the bound (or its address
// already has its share of checks running or waiting). Nothing was checked
// or counted; the client may try again after RetryAfter.
type BusyError struct {
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("too many logins are being checked right now: try again in %d seconds", retrySeconds(e.RetryAfter))
}

// RetrySeconds is the whole number of seconds (at least 1) an HTTP
// Retry-After header should say for d.
func RetrySeconds(d time.Duration) int { return retrySeconds(d) }

func retrySeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// hashGate bounds the argon2id checks running at once on one replica, and
// keeps the wait for one short: an attempt that would queue for more than
// maxWait, or whose address already holds perAddr places (running or
// waiting), is refused at once with a *BusyError instead of queueing for
// tens of seconds behind a flood. Attempts from addresses without recorded
// failures ("clean") are served before the others, so a flood from
// addresses that keep failing cannot starve the real administrator logging
// in from somewhere else.
type hashGate struct {
	slots   int
	perAddr int
	maxWait time.Duration
	// maxQueued bounds the waiting attempts whatever their addresses.
	maxQueued int

	mu      sync.Mutex
	running int
	perKey  map[string]int // places held (running or waiting) per address key
	clean   []*gateWaiter  // FIFO, served first
	dirty   []*gateWaiter
	// avg is a moving average of how long one check holds its slot.
	avg time.Duration
}

type gateWaiter struct {
	ready   chan struct{}
	granted bool // set under mu when a slot was handed over
}

func newHashGate(slots, perAddr int, maxWait time.Duration) *hashGate {
	return &hashGate{slots: slots, perAddr: perAddr, maxWait: maxWait, maxQueued: 16 * slots,
		perKey: map[string]int{}, avg: 100 * time.Millisecond}
}

// estimate is the expected wait of an attempt queued behind ahead others.
// Called with mu held.
func (g *hashGate) estimate(ahead int) time.Duration {
	return time.Duration(ahead/g.slots+1) * g.avg
}

// acquire waits for a slot for an attempt from address key. It returns the
// function that gives the slot back (and records how long it was held), a
// *BusyError, or ctx's error.
func (g *hashGate) acquire(ctx context.Context, key string, clean bool) (func(), error) {
	g.mu.Lock()
	if g.perKey[key] >= g.perAddr {
		g.mu.Unlock()
		return nil, &BusyError{RetryAfter: g.maxWait}
	}
	if g.running < g.slots && len(g.clean)+len(g.dirty) == 0 {
		g.running++
		g.perKey[key]++
		g.mu.Unlock()
		return g.releaser(key), nil
	}
	ahead := len(g.clean)
	if !clean {
		ahead += len(g.dirty)
	}
	if est := g.estimate(ahead); est > g.maxWait || len(g.clean)+len(g.dirty) >= g.maxQueued {
		g.mu.Unlock()
		return nil, &BusyError{RetryAfter: max(est, g.maxWait)}
	}
	w := &gateWaiter{ready: make(chan struct{})}
	if clean {
		g.clean = append(g.clean, w)
	} else {
		g.dirty = append(g.dirty, w)
	}
	g.perKey[key]++
	g.mu.Unlock()

	timer := time.NewTimer(g.maxWait)
	defer timer.Stop()
	var err error
	select {
	case <-w.ready:
		return g.releaser(key), nil
	case <-timer.C:
		err = &BusyError{RetryAfter: g.maxWait}
	case <-ctx.Done():
		err = ctx.Err()
	}
	g.mu.Lock()
	if w.granted {
		// The slot came as we gave up: take it after all.
		g.mu.Unlock()
		return g.releaser(key), nil
	}
	g.clean = removeWaiter(g.clean, w)
	g.dirty = removeWaiter(g.dirty, w)
	g.dropKey(key)
	g.mu.Unlock()
	return nil, err
}

func removeWaiter(q []*gateWaiter, w *gateWaiter) []*gateWaiter {
	for i, x := range q {
		if x == w {
			return append(q[:i], q[i+1:]...)
		}
	}
	return q
}

// dropKey gives back one place of key. Called with mu held.
func (g *hashGate) dropKey(key string) {
	if g.perKey[key] <= 1 {
		delete(g.perKey, key)
	} else {
		g.perKey[key]--
	}
}

func (g *hashGate) releaser(key string) func() {
	start := time.Now()
	var once sync.Once
	return func() {
		once.Do(func() {
			held := time.Since(start)
			g.mu.Lock()
			defer g.mu.Unlock()
			g.avg = (g.avg*7 + held) / 8
			g.dropKey(key)
			var next *gateWaiter
			switch {
			case len(g.clean) > 0:
				next, g.clean = g.clean[0], g.clean[1:]
			case len(g.dirty) > 0:
				next, g.dirty = g.dirty[0], g.dirty[1:]
			}
			if next == nil {
				g.running--
				return
			}
			// The slot passes to next without being freed.
			next.granted = true
			close(next.ready)
		})
	}
}
