package agentapi_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/agentapi"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeClock is a clock the test moves forward.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// applied returns n policy_applied events from sequence number from: the
// cheapest events to store.
func applied(from, n int) []*vcguardv1.Event {
	out := make([]*vcguardv1.Event, n)
	for i := range out {
		out[i] = &vcguardv1.Event{Seq: uint64(from + i), Time: timestamppb.Now(),
			Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: 1}}}
	}
	return out
}

// TestEventRateSlowsNotRefuses: a device sending far above its event rate
// is slowed, never refused: every batch is stored and acknowledged, and
// the waits show in vcguard_refused_total and vcguard_throttled_seconds_total.
func TestEventRateSlowsNotRefuses(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	s := newTestServer(t, m, nil)
	s.agents.Budgets = agentapi.DeviceBudgets{EventsPerSecond: 200, EventBurst: 1000}
	_, cert := s.enroll(t)
	stream := s.connect(t, t.Context(), cert)
	// The burst, then three batches of 100 each waiting for the rate.
	sendBatch(t, stream, applied(1, 1000)...)
	const batches, size = 3, 100
	for b := range batches {
		sendBatch(t, stream, applied(1001+b*size, size)...)
	}
	f := scrape(t, m)
	if n, _ := value(f, "vcguard_refused_total", "reason", agentapi.ReasonDeviceEventRate); n < 1 {
		t.Errorf("vcguard_refused_total{reason=%q} = %v, want ≥ 1", agentapi.ReasonDeviceEventRate, n)
	}
	if secs, _ := value(f, "vcguard_throttled_seconds_total", "reason", agentapi.ReasonDeviceEventRate); secs <= 0 {
		t.Errorf("vcguard_throttled_seconds_total = %v, want > 0", secs)
	}
	if n, _ := value(f, "vcguard_events_ingested_total", "type", "policy_applied"); n != 1000+batches*size {
		t.Errorf("stored %v events, want %d", n, 1000+batches*size)
	}
}

// TestBytesPerDay: past its daily bytes a device's stream ends with
// ResourceExhausted and nothing of the refused batch is stored; the agent
// keeps the events, and once the budget refills they are stored.
func TestBytesPerDay(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	clock := &fakeClock{t: time.Now()}
	s := newTestServer(t, m, clock.Now)
	s.agents.Budgets = agentapi.DeviceBudgets{BytesPerDay: 64 << 10}
	deviceID, cert := s.enroll(t)
	stream := s.connect(t, t.Context(), cert)
	padded := func(seq uint64) *vcguardv1.Event {
		e := appStarted(seq)
		e.GetApp().GetApp().Identity = strings.Repeat("p", 900)
		return e
	}
	var seq uint64
	var err error
	for seq = 1; seq < 1000; seq++ {
		if err = stream.Send(batch(padded(seq))); err != nil {
			break
		}
		msg, rerr := stream.Recv()
		if rerr != nil {
			err = rerr
			break
		}
		if msg.GetAck().GetSeq() != seq {
			t.Fatalf("ack %v, want %d", msg, seq)
		}
	}
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), "budget") {
		t.Fatalf("after %d padded events: %v, want ResourceExhausted naming the budget", seq, err)
	}
	if seq < 40 || seq > 80 {
		t.Errorf("refused at event %d; 64 KiB holds about 65 events of ~1 KB", seq)
	}
	if n, _ := value(scrape(t, m), "vcguard_refused_total", "reason", agentapi.ReasonDeviceBytesDay); n != 1 {
		t.Errorf("vcguard_refused_total{reason=%q} = %v, want 1", agentapi.ReasonDeviceBytesDay, n)
	}
	dev, derr := s.env.Store.Device(t.Context(), deviceID)
	if derr != nil || dev.LastSeq != seq-1 {
		t.Fatalf("last stored %d (%v), want %d: the refused batch must not be stored", dev.LastSeq, derr, seq-1)
	}

	// Reconnecting at once does not refill the budget.
	stream = s.connect(t, t.Context(), cert)
	if err := stream.Send(batch(padded(seq))); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("resent at once after a reconnect: %v, want ResourceExhausted", err)
	}
	// A day later the same events are taken.
	clock.Add(24 * time.Hour)
	stream = s.connect(t, t.Context(), cert)
	sendBatch(t, stream, padded(seq), padded(seq+1))
}

// TestOverlongStringsStoredCut: an event with texts far over the budget is
// stored, cut and marked, and acknowledged: it does not block the queue.
func TestOverlongStringsStoredCut(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	s := newTestServer(t, m, nil)
	deviceID, cert := s.enroll(t)
	stream := s.connect(t, t.Context(), cert)
	e := &vcguardv1.Event{Seq: 1, Time: timestamppb.Now(), Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{
		Kind: vcguardv1.AppEvent_KIND_STARTED,
		App: &vcguardv1.AppInstance{AppId: "zoom", Name: "Zoom", Pid: 7, Started: timestamppb.Now(),
			Exe: "/usr/bin/" + strings.Repeat("z", 1<<20), Version: strings.Repeat("9", 100_000), Identity: strings.Repeat("i", 100_000)},
	}}}
	sendBatch(t, stream, e, appStarted(2))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	evs, err := s.env.Store.Events(ctx, store.EventFilter{DeviceID: deviceID})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, se := range evs {
		if se.Seq != 1 {
			continue
		}
		found = true
		a := se.Event.GetApp().GetApp()
		for name, v := range map[string]string{"exe": a.GetExe(), "version": a.GetVersion(), "identity": a.GetIdentity()} {
			if len(v) > agentapi.DefaultDeviceBudgets.MaxString || !strings.HasSuffix(v, agentapi.TruncatedMarker) {
				t.Errorf("stored %s is %d bytes, want ≤ %d ending in %q", name, len(v), agentapi.DefaultDeviceBudgets.MaxString, agentapi.TruncatedMarker)
			}
		}
	}
	if !found {
		t.Fatal("the event with over-long texts was not stored")
	}
	if n, _ := value(scrape(t, m), "vcguard_refused_total", "reason", agentapi.ReasonEventTruncated); n != 1 {
		t.Errorf("vcguard_refused_total{reason=%q} = %v, want 1", agentapi.ReasonEventTruncated, n)
	}
}
