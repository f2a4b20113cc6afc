package main

import (
	"math"
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// histogram records durations in log-linear buckets (64 per power of two,
// so a quantile is within about 1.6% of the true value) with atomic
// counters: every simulated agent records into one without a lock, and its
// size does not grow with the number of samples.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64 // microseconds
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	// histBuckets covers up to 2^44 µs (about 200 days).
	histBuckets = (44-histSubBits+1)*histSub + histSub
)

// bucketOf returns the bucket of a value in microseconds.
func bucketOf(us uint64) int {
	if us < histSub {
		return int(us)
	}
	shift := bits.Len64(us) - histSubBits - 1
	idx := (shift+1)*histSub + int(us>>shift) - histSub
	return min(idx, histBuckets-1)
}

// bucketValue is a representative value (the middle) of bucket idx, in
// microseconds.
func bucketValue(idx int) float64 {
	if idx < histSub {
		return float64(idx)
	}
	shift := idx/histSub - 1
	lower := uint64(idx%histSub+histSub) << shift
	width := uint64(1) << shift
	return float64(lower) + float64(width-1)/2
}

// observe records one duration; negative ones count as 0.
func (h *histogram) observe(d time.Duration) {
	us := max(d.Microseconds(), 0)
	h.counts[bucketOf(uint64(us))].Add(1)
	h.n.Add(1)
	for {
		cur := h.max.Load()
		if us <= cur || h.max.CompareAndSwap(cur, us) {
			break
		}
	}
}

// quantile returns the q-quantile (0 < q ≤ 1) in microseconds, or 0 for an
// empty histogram. It is the nearest-rank value: the smallest recorded value
// with at least q of the samples at or below it, within its bucket's
// precision, and never above the exact maximum.
func (h *histogram) quantile(q float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(n))), 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(bucketValue(i), float64(h.max.Load()))
		}
	}
	return float64(h.max.Load())
}

// summary is a latency distribution as the report shows it, in
// milliseconds.
type summary struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// summary returns p50, p99 and the maximum in milliseconds, rounded to
// 0.1 ms.
func (h *histogram) summary() summary {
	return summary{
		P50: roundMS(h.quantile(0.50)),
		P99: roundMS(h.quantile(0.99)),
		Max: roundMS(float64(h.max.Load())),
	}
}

func roundMS(us float64) float64 { return math.Round(us/100) / 10 }

// summarize computes the same summary exactly from a slice of durations
// (for small sets, and to check the histogram against).
func summarize(ds []time.Duration) summary {
	if len(ds) == 0 {
		return summary{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) float64 {
		rank := max(int(math.Ceil(q*float64(len(s)))), 1)
		return roundMS(float64(s[rank-1].Microseconds()))
	}
	return summary{P50: at(0.50), P99: at(0.99), Max: roundMS(float64(s[len(s)-1].Microseconds()))}
}

// errorCounts counts errors by kind. Kinds are a small fixed vocabulary
// (enroll, connect, stream, ...), so the map stays small.
type errorCounts struct {
	mu     sync.Mutex
	byKind map[string]int64
}

func (e *errorCounts) add(kind string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.byKind == nil {
		e.byKind = make(map[string]int64)
	}
	e.byKind[kind]++
}

// snapshot returns the total and a copy of the counts by kind.
func (e *errorCounts) snapshot() (int64, map[string]int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int64, len(e.byKind))
	var total int64
	for k, v := range e.byKind {
		out[k] = v
		total += v
	}
	return total, out
}

// perSecond is n over d, rounded to 0.1; 0 when d is not positive.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return math.Round(float64(n)/d.Seconds()*10) / 10
}

func (e *errorCounts) addN(kind string, n int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.byKind == nil {
		e.byKind = make(map[string]int64)
	}
	e.byKind[kind] += n
}
