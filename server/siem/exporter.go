package siem

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vcguard/vcguard/server/store"
)

// Store is what an Exporter needs of the store (*store.Store).
type Store interface {
	ClaimExport(ctx context.Context, destination, owner string, now time.Time, ttl time.Duration) (bool, error)
	PendingExport(ctx context.Context, destination string, limit int) (store.ExportBatch, error)
	AdvanceExport(ctx context.Context, destination, owner string, b store.ExportBatch, now time.Time, ttl time.Duration) error
	ReleaseExport(ctx context.Context, destination, owner string) error
}

// Destination receives batches of records. Send returns nil only once the
// destination has them (syslog: written and flushed; webhook: a 2xx).
type Destination interface {
	Name() string
	Send(ctx context.Context, recs []Record) error
	Close() error
}

// Defaults of an Exporter.
const (
	DefaultBatch      = 500
	DefaultPoll       = 2 * time.Second
	DefaultLeaseTTL   = time.Minute
	DefaultMaxBackoff = 5 * time.Minute
	minBackoff        = 500 * time.Millisecond
)

// Exporter streams what a destination has not acknowledged, batch by batch,
// while it holds the destination's lease; several replicas may run one for
// the same destination, and one at a time exports.
type Exporter struct {
	Store Store
	Dest  Destination
	// Owner names this exporter in the lease (a replica's unique id).
	Owner  string
	Logger *slog.Logger
	// Metrics may be nil.
	Metrics *Metrics
	// Batch, Poll, LeaseTTL, MaxBackoff: zero means the Default.
	Batch      int
	Poll       time.Duration
	LeaseTTL   time.Duration
	MaxBackoff time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

func (e *Exporter) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func orDefault[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// Run exports until ctx ends; it returns ctx's error. Failures of the store
// or the destination are logged, counted and retried with exponential
// backoff and jitter; a batch is never skipped.
func (e *Exporter) Run(ctx context.Context) error {
	name := e.Dest.Name()
	log := e.Logger.With("destination", name)
	batch, poll := orDefault(e.Batch, DefaultBatch), orDefault(e.Poll, DefaultPoll)
	ttl, maxBackoff := orDefault(e.LeaseTTL, DefaultLeaseTTL), orDefault(e.MaxBackoff, DefaultMaxBackoff)
	defer e.Dest.Close()
	defer func() {
		// Hand the lease over at once rather than after its expiry.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := e.Store.ReleaseExport(rctx, name, e.Owner); err != nil {
			log.Warn("SIEM export: release lease", "err", err)
		}
	}()
	failures := 0
	wait := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	backoff := func() time.Duration {
		failures++
		d := minBackoff << min(failures-1, 20)
		d = min(d, maxBackoff)
		return d/2 + rand.N(d/2+1) // jitter: replicas and retries spread out
	}
	holding, first := false, true
	size := batch // smaller after a webhook's 413
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := e.Store.ClaimExport(ctx, name, e.Owner, e.now(), ttl)
		if err != nil {
			e.Metrics.failed(name, "store")
			log.Error("SIEM export: claim lease", "err", err)
			if err := wait(backoff()); err != nil {
				return err
			}
			continue
		}
		if ok != holding || first {
			if ok {
				log.Info("SIEM export: this server exports", "owner", e.Owner)
			} else {
				log.Info("SIEM export: another server holds the lease; waiting for it to stop or its lease to expire", "owner", e.Owner, "lease", ttl)
			}
			holding, first = ok, false
		}
		e.Metrics.leader(name, ok)
		if !ok {
			e.Metrics.idle(name)
			if err := wait(poll); err != nil {
				return err
			}
			continue
		}
		b, err := e.Store.PendingExport(ctx, name, size)
		if err != nil {
			e.Metrics.failed(name, "store")
			log.Error("SIEM export: read pending records", "err", err)
			if err := wait(backoff()); err != nil {
				return err
			}
			continue
		}
		if b.Empty() {
			failures = 0
			e.Metrics.lag(name, 0)
			e.Metrics.blocked(name, false)
			if err := wait(poll); err != nil {
				return err
			}
			continue
		}
		recs := Records(b)
		e.Metrics.lag(name, e.now().Sub(oldest(recs)).Seconds())
		if len(recs) > 0 {
			// Within the lease, so that no other replica takes over
			// while this one still sends.
			sctx, cancel := context.WithTimeout(ctx, ttl/2)
			err := e.Dest.Send(sctx, recs)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				reason := "transport"
				var rej *RejectedError
				switch {
				case errors.As(err, &rej) && rej.Status == http.StatusRequestEntityTooLarge && size > 1:
					// Too large for the receiver: send less at a time
					// (until the server restarts).
					size, reason = max(size/2, 1), "too_large"
					log.Warn("SIEM export: the receiver refused the batch as too large; sending smaller batches", "batch", size)
				case errors.As(err, &rej):
					reason = "rejected"
					failures = 64 // straight to the longest backoff
				}
				e.Metrics.failed(name, reason)
				e.Metrics.blocked(name, true)
				d := backoff()
				log.Error("SIEM export: delivery failed; the batch is kept and retried", "err", err, "records", len(recs),
					"first", recs[0].ID, "retry_in", d.Round(time.Millisecond))
				if err := wait(d); err != nil {
					return err
				}
				continue
			}
		}
		// Recorded even when the server is stopping: the destination has
		// the batch, sending it again would only duplicate it.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = e.Store.AdvanceExport(actx, name, e.Owner, b, e.now(), ttl)
		cancel()
		if err != nil {
			if errors.Is(err, store.ErrLeaseLost) {
				log.Warn("SIEM export: lease taken over while delivering; the other exporter resends the batch", "records", len(recs))
				holding = false
				continue
			}
			e.Metrics.failed(name, "store")
			log.Error("SIEM export: record progress (the batch will be sent again)", "err", err)
			if err := wait(backoff()); err != nil {
				return err
			}
			continue
		}
		failures = 0
		e.Metrics.blocked(name, false)
		e.Metrics.exported(name, recs)
	}
}

// oldest returns the earliest server-side time of recs: when an event was
// received, when an audit entry was made.
func oldest(recs []Record) time.Time {
	var t time.Time
	for _, r := range recs {
		at := r.Time
		if !r.Received.IsZero() {
			at = r.Received
		}
		if t.IsZero() || at.Before(t) {
			t = at
		}
	}
	return t
}

// Metrics are the export's Prometheus metrics. Every method is safe on nil.
type Metrics struct {
	exportedTotal *prometheus.CounterVec
	failedTotal   *prometheus.CounterVec
	lagSeconds    *prometheus.GaugeVec
	blockedGauge  *prometheus.GaugeVec
	leaderGauge   *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		exportedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vcguard_siem_exported_total",
			Help: "Records a SIEM destination acknowledged, by destination and kind (event, audit).",
		}, []string{"destination", "kind"}),
		failedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vcguard_siem_failures_total",
			Help: "Failed SIEM export attempts, by destination and reason (transport, rejected, too_large, store); the batch is retried.",
		}, []string{"destination", "reason"}),
		lagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vcguard_siem_lag_seconds",
			Help: "Age of the oldest record a SIEM destination has not acknowledged (0 when none), on the replica that exports to it.",
		}, []string{"destination"}),
		blockedGauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vcguard_siem_blocked",
			Help: "1 while the last delivery to a SIEM destination failed and the export waits to retry it.",
		}, []string{"destination"}),
		leaderGauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vcguard_siem_exporting",
			Help: "1 on the replica that holds a SIEM destination's lease and exports to it.",
		}, []string{"destination"}),
	}
	reg.MustRegister(m.exportedTotal, m.failedTotal, m.lagSeconds, m.blockedGauge, m.leaderGauge)
	return m
}

// Exported is the counter of records of kind acknowledged by dest.
func (m *Metrics) Exported(dest, kind string) prometheus.Counter {
	return m.exportedTotal.WithLabelValues(dest, kind)
}

// Failures is the counter of failed attempts on dest for reason.
func (m *Metrics) Failures(dest, reason string) prometheus.Counter {
	return m.failedTotal.WithLabelValues(dest, reason)
}

func (m *Metrics) exported(dest string, recs []Record) {
	if m == nil {
		return
	}
	for _, r := range recs {
		m.exportedTotal.WithLabelValues(dest, r.Kind).Inc()
	}
}

func (m *Metrics) failed(dest, reason string) {
	if m != nil {
		m.failedTotal.WithLabelValues(dest, reason).Inc()
	}
}

func (m *Metrics) lag(dest string, s float64) {
	if m != nil {
		m.lagSeconds.WithLabelValues(dest).Set(max(s, 0))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m *Metrics) blocked(dest string, b bool) {
	if m != nil {
		m.blockedGauge.WithLabelValues(dest).Set(b2f(b))
	}
}

// idle drops the lag and blocked series of a destination another replica
// exports to: they are that replica's to report.
func (m *Metrics) idle(dest string) {
	if m != nil {
		m.lagSeconds.DeleteLabelValues(dest)
		m.blockedGauge.DeleteLabelValues(dest)
	}
}

func (m *Metrics) leader(dest string, b bool) {
	if m != nil {
		m.leaderGauge.WithLabelValues(dest).Set(b2f(b))
	}
}
