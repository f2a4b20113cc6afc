package main

import (
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name string
		in   []time.Duration
		want summary
	}{
		{"empty", nil, summary{}},
		{"one", ms(7), summary{7, 7, 7}},
		{"two", ms(10, 2), summary{2, 10, 10}},
		{"one to hundred", hundred, summary{50, 99, 100}},
		{"outlier", ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 5000), summary{1, 5000, 5000}},
		{"sub-millisecond", []time.Duration{150 * time.Microsecond, 250 * time.Microsecond}, summary{0.2, 0.3, 0.3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.in); got != tt.want {
				t.Errorf("summarize = %+v, want %+v", got, tt.want)
			}
			var h histogram
			for _, d := range tt.in {
				h.observe(d)
			}
			got := h.summary()
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"p50", got.P50, tt.want.P50}, {"p99", got.P99, tt.want.P99}, {"max", got.Max, tt.want.Max}} {
				if math.Abs(c.got-c.want) > c.want*0.016+0.1 {
					t.Errorf("histogram %s = %g, want %g within 1.6%%", c.name, c.got, c.want)
				}
			}
			if got.Max != tt.want.Max {
				t.Errorf("histogram max = %g, want exactly %g", got.Max, tt.want.Max)
			}
		})
	}
}

// TestHistogramAgainstExact compares the histogram's quantiles with the
// exact ones over a wide, skewed distribution.
func TestHistogramAgainstExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h histogram
	var all []time.Duration
	for range 20000 {
		d := time.Duration(math.Exp(r.NormFloat64()*2+9)) * time.Microsecond // ~8 ms median, long tail
		all = append(all, d)
		h.observe(d)
	}
	exact, got := summarize(all), h.summary()
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"p50", got.P50, exact.P50}, {"p99", got.P99, exact.P99}, {"max", got.Max, exact.Max}} {
		if math.Abs(c.got-c.want) > c.want*0.016+0.1 {
			t.Errorf("%s = %g, exact %g: off by more than 1.6%%", c.name, c.got, c.want)
		}
	}
}

func TestBucketsRoundTrip(t *testing.T) {
	prev := -1
	for _, us := range []uint64{0, 1, 63, 64, 65, 127, 128, 129, 1000, 1 << 20, 1<<20 + 12345, 1 << 40, math.MaxUint64} {
		idx := bucketOf(us)
		if idx < prev {
			t.Errorf("bucketOf(%d) = %d, below the bucket of a smaller value (%d)", us, idx, prev)
		}
		prev = idx
		if idx < 0 || idx >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d, outside [0, %d)", us, idx, histBuckets)
		}
		if us < 1<<44 {
			if v := bucketValue(idx); math.Abs(v-float64(us)) > float64(us)/64+1 {
				t.Errorf("bucketValue(bucketOf(%d)) = %g, more than 1/64 away", us, v)
			}
		}
	}
	var h histogram
	h.observe(-time.Second)
	if s := h.summary(); s != (summary{}) {
		t.Errorf("a negative duration counts as 0, got %+v", s)
	}
}

func TestErrorCounts(t *testing.T) {
	var e errorCounts
	if n, kinds := e.snapshot(); n != 0 || len(kinds) != 0 {
		t.Fatalf("empty: %d %v", n, kinds)
	}
	e.add("connect_unavailable")
	e.add("connect_unavailable")
	e.addN("not_connected", 5)
	n, kinds := e.snapshot()
	if n != 7 || kinds["connect_unavailable"] != 2 || kinds["not_connected"] != 5 {
		t.Errorf("got %d %v", n, kinds)
	}
}

func TestPerSecond(t *testing.T) {
	if got := perSecond(1000, 4*time.Second); got != 250 {
		t.Errorf("perSecond = %g", got)
	}
	if got := perSecond(10, 0); got != 0 {
		t.Errorf("perSecond over 0 = %g", got)
	}
}

func TestReportText(t *testing.T) {
	rep := &report{Agents: 10, AgentsConnected: 9, EventsAcked: 100, EventsStored: 100, EventsStoredSource: "api_events_stored",
		PolicyVersion: 3, PolicyReceived: 9, ServerRSSKiB: 1000, Errors: 2, ErrorKinds: map[string]int64{"b": 1, "a": 1}}
	var b strings.Builder
	if err := rep.writeText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"9 connected of 10", "100 acknowledged, 100 stored", "version 3 on 9 streams", "1000 KiB", "errors:     2 a=1 b=1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	if err := (&report{}).writeJSON(io.Discard); err != nil {
		t.Fatal(err)
	}
}
