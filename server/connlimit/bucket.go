package connlimit

import (
	"sync"
	"time"
)

// Buckets is a set of token buckets, one per key, each refilled at Rate
// tokens per second up to Burst. golang.org/x/time/rate is not in this
// module's graph, and the few lines below are all that is needed.
//
// The set is bounded: past MaxKeys keys, the buckets that are full again
// (idle long enough to forget) are dropped, and if that is not enough, new
// keys share one overflow bucket, so a client with many addresses cannot
// grow the map without end and gains no more than one bucket by it.
type Buckets struct {
	Rate  float64 // tokens per second
	Burst float64
	// MaxKeys bounds the keys tracked; 0 means 100,000.
	MaxKeys int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	buckets  map[string]*bucket
	overflow bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Allow takes a token from key's bucket and reports whether there was one.
func (b *Buckets) Allow(key string) bool { return b.AllowN(key, 1) }

// AllowN takes n tokens from key's bucket if it holds them all and reports
// whether it did. An n above Burst is taken from a full bucket (emptying
// it), so a request larger than the whole budget is not refused for ever.
func (b *Buckets) AllowN(key string, n float64) bool {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.get(key, now)
	tokens := b.refill(bk, now)
	if n > b.Burst {
		n = b.Burst
	}
	if tokens < n {
		return false
	}
	bk.tokens -= n
	return true
}

// Take takes n tokens from key's bucket whatever it holds, and returns how
// long the caller must wait until the bucket is out of debt: 0 if it held
// n. A caller that waits before acting (backpressure) keeps to Rate on
// average while never being refused. n above Burst counts as Burst.
func (b *Buckets) Take(key string, n float64) time.Duration {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.get(key, now)
	b.refill(bk, now)
	bk.tokens -= min(n, b.Burst)
	if bk.tokens >= 0 || b.Rate <= 0 {
		return 0
	}
	return time.Duration(-bk.tokens / b.Rate * float64(time.Second))
}

func (b *Buckets) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// get returns key's bucket, creating it full; b.mu is held.
func (b *Buckets) get(key string, now time.Time) *bucket {
	if b.buckets == nil {
		b.buckets = make(map[string]*bucket)
	}
	if bk, ok := b.buckets[key]; ok {
		return bk
	}
	maxKeys := b.MaxKeys
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	if len(b.buckets) >= maxKeys {
		for k, o := range b.buckets {
			if b.refill(o, now) >= b.Burst {
				delete(b.buckets, k)
			}
		}
	}
	if len(b.buckets) >= maxKeys {
		if b.overflow.last.IsZero() {
			b.overflow.tokens, b.overflow.last = b.Burst, now
		}
		return &b.overflow
	}
	bk := &bucket{tokens: b.Burst, last: now}
	b.buckets[key] = bk
	return bk
}

func (b *Buckets) refill(bk *bucket, now time.Time) float64 {
	if d := now.Sub(bk.last); d > 0 {
		bk.tokens = min(b.Burst, bk.tokens+d.Seconds()*b.Rate)
		bk.last = now
	}
	return bk.tokens
}
