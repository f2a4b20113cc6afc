package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestHostileEventFlood: one device floods the server with small events
// (trying for a million) and another with padded ones, while a real agent
// keeps reporting:
//   - the small-event flood is slowed to the device's event rate (never
//     refused): what it got stored stays within burst + rate × time + one
//     batch;
//   - the padded flood ends with ResourceExhausted once the device's daily
//     bytes are used up, and an event larger than --event-max-bytes is
//     stored cut, not refused;
//   - both show in vcguard_refused_total with their reasons;
//   - the real agent's new app reaches the server during the attack.
func TestHostileEventFlood(t *testing.T) {
	t.Parallel()
	const rate, burst, bytesPerDay = 500, 1000, 1 << 20
	metricsAddr := freeAddr(t)
	s := newHostileServer(t, "--metrics-addr", metricsAddr,
		"--device-events-per-sec", fmt.Sprint(rate), "--device-event-burst", fmt.Sprint(burst),
		"--device-bytes-per-day", fmt.Sprint(bytesPerDay))
	agentID := startWellBehaved(t, s)

	ctx, stop := context.WithTimeout(t.Context(), 25*time.Second)
	defer stop()
	attackFor := 8 * time.Second

	// Small events, batches of 1,000, as fast as the server takes them.
	small := enrollProto(t, s, "hostile-small")
	type result struct {
		acked   uint64
		elapsed time.Duration
		err     error
	}
	smallDone := make(chan result, 1)
	go func() {
		stream, _, err := small.connect(ctx, t, s, "hostile-small")
		if err != nil {
			smallDone <- result{err: err}
			return
		}
		start := time.Now()
		var seq, acked uint64
		for seq < 1_000_000 && time.Since(start) < attackFor {
			events := make([]*vcguardv1.Event, 1000)
			for i := range events {
				seq++
				events[i] = policyApplied(seq)
			}
			if acked, err = sendBatchAck(stream, events); err != nil {
				break
			}
		}
		smallDone <- result{acked: acked, elapsed: time.Since(start), err: err}
	}()

	// Padded events: each ~60 KiB, plus one far above --event-max-bytes.
	padded := enrollProto(t, s, "hostile-padded")
	paddedDone := make(chan result, 1)
	go func() {
		stream, _, err := padded.connect(ctx, t, s, "hostile-padded")
		if err != nil {
			paddedDone <- result{err: err}
			return
		}
		var acked uint64
		huge := hostileAppStarted(1, 1, 0)
		huge.GetApp().GetApp().Exe = "/" + strings.Repeat("x", 2<<20)
		if acked, err = sendBatchAck(stream, []*vcguardv1.Event{huge}); err != nil {
			paddedDone <- result{err: fmt.Errorf("an event over --event-max-bytes was refused, not cut: %w", err)}
			return
		}
		for seq := uint64(2); seq < 10_000 && ctx.Err() == nil; seq++ {
			if acked, err = sendBatchAck(stream, []*vcguardv1.Event{hostileAppStarted(seq, int32(seq), 60<<10)}); err != nil {
				break
			}
		}
		paddedDone <- result{acked: acked, err: err}
	}()

	reportsDuringAttack(t, s, agentID, 20*time.Second)

	sr := <-smallDone
	if sr.err != nil && status.Code(sr.err) != codes.DeadlineExceeded {
		t.Fatalf("small-event flood: %v (a flood over the rate is slowed, not refused)", sr.err)
	}
	if limit := uint64(burst + rate*sr.elapsed.Seconds()*1.2 + 1000); sr.acked > limit {
		t.Errorf("small-event flood: %d events stored in %s, above burst %d + %d/s + one batch (%d)", sr.acked, sr.elapsed, burst, rate, limit)
	}
	pr := <-paddedDone
	if status.Code(pr.err) != codes.ResourceExhausted || !strings.Contains(status.Convert(pr.err).Message(), "budget") {
		t.Fatalf("padded flood ended with %v after %d events, want ResourceExhausted naming the daily budget", pr.err, pr.acked)
	}
	if stored := pr.acked * (60 << 10); stored > 2*bytesPerDay {
		t.Errorf("padded flood: %d events (~%d bytes) stored, above the daily budget %d", pr.acked, stored, bytesPerDay)
	}
	m := scrapeMetrics(t, metricsAddr)
	for _, reason := range []string{"device_event_rate", "device_bytes_day", "event_truncated"} {
		if n := sum(m, `vcguard_refused_total{reason="`+reason+`"}`); n < 1 {
			t.Errorf("vcguard_refused_total{reason=%q} = %v, want ≥ 1", reason, n)
		}
	}
	if n := sum(m, "vcguard_throttled_seconds_total"); n <= 0 {
		t.Errorf("vcguard_throttled_seconds_total = %v, want > 0", n)
	}
	// The real agent is still online and was never throttled into silence.
	if d := s.device(t, agentID); !d.Online {
		t.Error("the well-behaved agent is offline after the attack")
	}
}
