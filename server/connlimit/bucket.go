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
func (b *Buckets) Allow(key string) bool {
	now := time.Now()
	if b.Now != nil {
		now = b.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buckets == nil {
		b.buckets = make(map[string]*bucket)
	}
	bk, ok := b.buckets[key]
	if !ok {
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
			bk = &b.overflow
			if bk.last.IsZero() {
				bk.tokens, bk.last = b.Burst, now
			}
		} else {
			bk = &bucket{tokens: b.Burst, last: now}
			b.buckets[key] = bk
		}
	}
	if b.refill(bk, now) < 1 {
		return false
	}
	bk.tokens--
	return true
}

func (b *Buckets) refill(bk *bucket, now time.Time) float64 {
	if d := now.Sub(bk.last); d > 0 {
		bk.tokens = min(b.Burst, bk.tokens+d.Seconds()*b.Rate)
		bk.last = now
	}
	return bk.tokens
}
