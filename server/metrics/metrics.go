// Package metrics holds the server's Prometheus metrics in a registry of its
// own (never the global default one) and serves them in the Prometheus text
// format. Every method is safe on a nil *Metrics, so code built without
// metrics (most tests) runs unchanged.
package metrics

import (
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Enrollment results, the values of vcguard_enrollments_total's result label.
const (
	EnrollOK      = "ok"      // a device was enrolled
	EnrollDenied  = "denied"  // unknown, expired or revoked secret
	EnrollInvalid = "invalid" // malformed request or CSR
	EnrollError   = "error"   // the server failed
)

// RefusalReasons are the values of vcguard_refused_total's reason label;
// Refused counts any other value as "other", so the series stay bounded.
var RefusalReasons = []string{"conns_total", "conns_per_addr", "enroll_rate_addr", "enroll_rate_secret",
	// Per-device budgets of the agent stream (server/agentapi): a batch
	// slowed to the device's event rate, a batch refused over its daily
	// bytes, an event stored with texts or lists cut, an event stored with
	// a typed value (an action, a finding) this server does not know.
	"device_event_rate", "device_bytes_day", "event_truncated", "event_unknown_value",
	// A stream that reported its catalog version going backwards or
	// too often (server/agentapi).
	"catalog_status",
	// Per-device row caps of the store (server/store, Store.Refused).
	"device_running_apps", "device_media_rows", "device_connection_rows", "device_connection_value",
	// A dashboard login refused at once because the password checks are
	// busy (server/auth's gate).
	"login_busy",
	// A dashboard live stream refused over the streams per session or
	// per replica (server/dashboard).
	"live_streams",
}

// Store operations, the values of vcguard_store_seconds's op label.
const (
	OpIngest          = "ingest"
	OpPublish         = "publish"
	OpListDevices     = "list_devices"
	OpGetDevice       = "get_device"
	OpListEvents      = "list_events"
	OpListPolicies    = "list_policies"
	OpDeviceConnected = "device_connected"
	OpHeartbeat       = "heartbeat"
	OpEnroll          = "enroll"
)

// maxEventTypes bounds the type label of vcguard_events_ingested_total:
// agents name some types (media kinds), so a misbehaving agent must not be
// able to create series without end. Types beyond the bound count as "other".
const maxEventTypes = 64

// Metrics are the server's metrics and the registry that holds them.
type Metrics struct {
	registry *prometheus.Registry

	agentsConnected prometheus.Gauge
	eventsIngested  *prometheus.CounterVec
	policyPush      prometheus.Histogram
	storeSeconds    *prometheus.HistogramVec
	enrollments     *prometheus.CounterVec
	refused         *prometheus.CounterVec
	streamsReplaced prometheus.Counter
	throttled       *prometheus.CounterVec

	mu         sync.Mutex
	eventTypes map[string]bool
}

// New creates the metrics in a new registry, together with the Go runtime
// and process collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		agentsConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vcguard_agents_connected",
			Help: "Agent streams open on this server process.",
		}),
		eventsIngested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vcguard_events_ingested_total",
			Help: "Agent events stored (resent duplicates not counted), by event type.",
		}, []string{"type"}),
		policyPush: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vcguard_policy_push_seconds",
			Help:    "Time from a policy's publication to its sending on an agent stream.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		storeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vcguard_store_seconds",
			Help:    "Duration of store operations, by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"op"}),
		enrollments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vcguard_enrollments_total",
			Help: "Enrollment attempts, by result (ok, denied, invalid, error).",
		}, []string{"result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vcguard_refused_total",
			Help: "Connections, calls and events refused, slowed or cut by a bound, by reason (see metrics.RefusalReasons).",
		}, []string{"reason"}),
		streamsReplaced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vcguard_streams_replaced_total",
			Help: "Agent streams ended because a newer Connect of the same device opened on this server process.",
		}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vcguard_throttled_seconds_total",
			Help: "Time agent streams were held back to a budget instead of refused, by reason (device_event_rate).",
		}, []string{"reason"}),
		eventTypes: map[string]bool{},
	}
	m.registry.MustRegister(m.agentsConnected, m.eventsIngested, m.policyPush, m.storeSeconds, m.enrollments, m.refused, m.streamsReplaced, m.throttled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, r := range []string{EnrollOK, EnrollDenied, EnrollInvalid, EnrollError} {
		m.enrollments.WithLabelValues(r) // export zeros, so rates work from the first scrape
	}
	for _, r := range RefusalReasons {
		m.refused.WithLabelValues(r)
	}
	return m
}

// Registry returns the registry the metrics are in, to add collectors to or
// to gather from in tests.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.registry
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// AgentConnected counts an agent stream that opened; call AgentDisconnected
// when it ends.
func (m *Metrics) AgentConnected() {
	if m != nil {
		m.agentsConnected.Inc()
	}
}

// AgentDisconnected counts an agent stream that ended.
func (m *Metrics) AgentDisconnected() {
	if m != nil {
		m.agentsConnected.Dec()
	}
}

// EventsIngested adds n stored events of type typ.
func (m *Metrics) EventsIngested(typ string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.mu.Lock()
	if !m.eventTypes[typ] {
		if len(m.eventTypes) >= maxEventTypes {
			typ = "other"
		} else {
			m.eventTypes[typ] = true
		}
	}
	m.mu.Unlock()
	m.eventsIngested.WithLabelValues(typ).Add(float64(n))
}

// PolicyPushed records a policy published at published and sent on a stream
// at sent. A negative span (clocks of two replicas apart) counts as 0.
func (m *Metrics) PolicyPushed(published, sent time.Time) {
	if m == nil || published.IsZero() {
		return
	}
	m.policyPush.Observe(max(sent.Sub(published), 0).Seconds())
}

// StoreTimer starts timing a store operation; call the returned function
// when it is done:
//
//	done := m.StoreTimer(metrics.OpIngest)
//	last, err := st.IngestEvents(…)
//	done()
func (m *Metrics) StoreTimer(op string) func() {
	if m == nil {
		return func() {}
	}
	start := time.Now()
	return func() { m.storeSeconds.WithLabelValues(op).Observe(time.Since(start).Seconds()) }
}

// Enrollment counts an enrollment attempt with its result (EnrollOK, …).
func (m *Metrics) Enrollment(result string) {
	if m != nil {
		m.enrollments.WithLabelValues(result).Inc()
	}
}

// Refused counts a connection or call refused by a bound, with its reason
// (one of RefusalReasons).
func (m *Metrics) Refused(reason string) {
	if m == nil {
		return
	}
	known := false
	for _, r := range RefusalReasons {
		known = known || r == reason
	}
	if !known {
		reason = "other"
	}
	m.refused.WithLabelValues(reason).Inc()
}

// StreamReplaced counts an agent stream ended by a newer one of its device.
func (m *Metrics) StreamReplaced() {
	if m != nil {
		m.streamsReplaced.Inc()
	}
}

// Throttled adds d to the time a stream was held back to a budget, with
// the reason (one of RefusalReasons).
func (m *Metrics) Throttled(reason string, d time.Duration) {
	if m == nil || d <= 0 {
		return
	}
	if !slices.Contains(RefusalReasons, reason) {
		reason = "other"
	}
	m.throttled.WithLabelValues(reason).Add(d.Seconds())
}
