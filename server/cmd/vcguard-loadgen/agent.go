package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// sim is what the simulated agents share: configuration, trust, and the
// counters they record into.
type sim struct {
	cfg        *config
	logger     *slog.Logger
	roots      *x509.CertPool
	serverName string
	secret     string
	enrollTLS  *tls.Config

	ack, push histogram
	errs      errorCounts
	// connected counts the streams open now (hello acknowledged).
	connected atomic.Int64
	// acked counts events acknowledged; unacked those recorded and not
	// yet acknowledged.
	acked, unacked atomic.Int64
	// connectSem bounds the stream openings in progress.
	connectSem chan struct{}
	// startPolicy is the policy version current when the run started:
	// the agents' hello reports it applied.
	startPolicy uint64
	// stopGen is closed when the hold ends: no new events, the rest is
	// drained.
	stopGen chan struct{}
	// base is the start of the run, the origin of simulated app start
	// times.
	base time.Time
}

// sourceAddr is agent i's source address: AgentsPerAddr agents share one
// address in 127.1.0.1 onwards (127.0.0.0/8 is all loopback on Linux); nil
// lets the kernel choose.
func sourceAddr(i, perAddr int) net.IP {
	if perAddr <= 0 {
		return nil
	}
	g := i / perAddr
	return net.IPv4(127, byte(1+g/(254*256)), byte(g/254%256), byte(g%254+1))
}

// dialOptions are agent i's gRPC options: its TLS configuration, its source
// address, the agent's keepalive, and small buffers (tens of thousands of
// connections live in this process).
func (s *sim) dialOptions(i int, tlsConf *tls.Config) []grpc.DialOption {
	return dialOptionsFrom(sourceAddr(i, s.cfg.AgentsPerAddr), tlsConf)
}

// dialOptionsFrom are the gRPC options of a connection from source address
// src (nil: the kernel chooses) with tlsConf.
func dialOptionsFrom(src net.IP, tlsConf *tls.Config) []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 60 * time.Second, Timeout: 20 * time.Second, PermitWithoutStream: true}),
		grpc.WithReadBufferSize(8 << 10),
		grpc.WithWriteBufferSize(8 << 10),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			d := net.Dialer{}
			if src != nil {
				d.LocalAddr = &net.TCPAddr{IP: src}
			}
			return d.DialContext(ctx, "tcp", addr)
		}),
	}
}

// target is the gRPC target of the server: the address as is, without a
// resolver.
func (s *sim) target() string { return "passthrough:///" + s.cfg.Server }

// agent is one simulated agent. Its goroutine holds the stream and reads
// from it; timers add events and heartbeats; everything sent goes out under
// mu, one batch in flight at a time, as the agent's uplink does.
type agent struct {
	s    *sim
	i    int
	id   *identity
	conn *grpc.ClientConn

	mu           sync.Mutex
	stream       vcguardv1.AgentService_ConnectClient
	cancelStream context.CancelFunc
	// started is set at the first hello acknowledgement of the run;
	// startSeq is the sequence number the server had stored then.
	started  bool
	startSeq uint64
	// lastSeq is the highest sequence number recorded, sentSeq the highest
	// sent on the current stream, ackedSeq the highest acknowledged.
	lastSeq, sentSeq, ackedSeq uint64
	inFlight                   bool
	sentAt                     time.Time
	invSeq                     uint64
	// applied holds the policy_applied events not yet acknowledged, by
	// sequence number.
	applied       map[uint64]uint64
	policyVersion uint64
	// pushAt is when the first policy newer than the run's start policy
	// arrived, pushVersion its version.
	pushAt      time.Time
	pushVersion uint64
	evTimer     *time.Timer
	hbTimer     *time.Timer
	timersOff   bool
}

// maxBacklog bounds an agent's recorded and unacknowledged events, in
// batches: past it, new events are not recorded (as an agent's outbox is
// bounded).
const maxBacklog = 100

func (a *agent) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: a.s.roots, ServerName: a.s.serverName,
		Certificates: []tls.Certificate{a.id.Cert}}
}

// run holds the agent's stream until ctx ends, reconnecting with a growing
// wait (1 s to 30 s) as the agent does; every stream that ends early is
// counted as an error by kind.
func (a *agent) run(ctx context.Context) {
	defer a.stopTimers()
	api := vcguardv1.NewAgentServiceClient(a.conn)
	wait := time.Second
	for {
		start := time.Now()
		connected, err := a.hold(ctx, api)
		if ctx.Err() != nil {
			return
		}
		kind := "connect_"
		if connected {
			kind = "stream_"
		}
		kind += strings.ToLower(status.Code(err).String())
		a.s.errs.add(kind)
		a.s.logger.Warn("stream ended", "agent", a.i, "device", a.id.DeviceID, "err", err)
		if time.Since(start) > time.Minute {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait/2 + rand.N(wait/2+1)):
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// helloTimeout bounds the wait for the server's answer to a hello.
const helloTimeout = time.Minute

// hold opens one stream, says hello, and reads acknowledgements and
// policies until it ends; connected reports whether the hello was answered.
func (a *agent) hold(ctx context.Context, api vcguardv1.AgentServiceClient) (connected bool, err error) {
	select {
	case a.s.connectSem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	held := true
	release := func() {
		if held {
			<-a.s.connectSem
			held = false
		}
	}
	defer release()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	helloTimer := time.AfterFunc(helloTimeout, cancel)
	st, err := api.Connect(sctx)
	if err != nil {
		helloTimer.Stop()
		return false, err
	}
	a.mu.Lock()
	version := a.policyVersion
	a.mu.Unlock()
	if err := st.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Hello{Hello: &vcguardv1.Hello{
		Device: deviceInfo(a.i), PolicyVersion: version}}}); err != nil {
		helloTimer.Stop()
		return false, err
	}
	// The server answers a hello with the last sequence number it stored.
	var helloSeq uint64
	var early []*vcguardv1.SignedPolicy // policies before the answer, applied after it
	for {
		m, err := st.Recv()
		if err != nil {
			helloTimer.Stop()
			return false, err
		}
		if ack := m.GetAck(); ack != nil {
			helloSeq = ack.GetSeq()
			break
		}
		early = append(early, m.GetPolicy().GetPolicy())
	}
	if !helloTimer.Stop() {
		return false, errors.New("no answer to the hello within a minute")
	}
	release()
	a.s.connected.Add(1)
	defer a.s.connected.Add(-1)
	a.mu.Lock()
	a.stream, a.cancelStream = st, cancel
	a.onHelloAckLocked(helloSeq)
	a.mu.Unlock()
	for _, p := range early {
		a.onPolicy(p)
	}
	defer func() {
		a.mu.Lock()
		a.stream, a.cancelStream, a.inFlight = nil, nil, false
		a.mu.Unlock()
	}()
	for {
		m, err := st.Recv()
		if err != nil {
			return true, err
		}
		switch m := m.GetMsg().(type) {
		case *vcguardv1.ServerMessage_Ack:
			a.onAck(m.Ack.GetSeq())
		case *vcguardv1.ServerMessage_Policy:
			a.onPolicy(m.Policy.GetPolicy())
		}
	}
}

// onHelloAckLocked starts sending on a new stream from what the server has
// stored; the first one of the run also records the inventory and starts
// the event and heartbeat timers.
func (a *agent) onHelloAckLocked(seq uint64) {
	if !a.started {
		a.started = true
		a.startSeq, a.lastSeq, a.ackedSeq = seq, seq, seq
		a.lastSeq++
		a.invSeq = a.lastSeq
		a.s.unacked.Add(1)
		if !a.timersOff {
			interval := a.eventInterval()
			if interval > 0 {
				a.evTimer = time.AfterFunc(rand.N(interval)+1, a.tick)
			}
			a.hbTimer = time.AfterFunc(rand.N(a.s.cfg.Heartbeat)+1, a.heartbeat)
		}
	}
	a.advanceLocked(seq)
	a.sentSeq, a.inFlight = a.ackedSeq, false
	a.sendLocked()
}

// eventInterval is the time between two batches of events; 0 for none.
func (a *agent) eventInterval() time.Duration {
	if a.s.cfg.Rate <= 0 {
		return 0
	}
	return time.Duration(float64(a.s.cfg.Batch) * float64(time.Minute) / a.s.cfg.Rate)
}

// tick records a batch of events and sends it if nothing is in flight.
func (a *agent) tick() {
	select {
	case <-a.s.stopGen:
		return
	default:
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.timersOff {
		return
	}
	batch := uint64(a.s.cfg.Batch)
	if a.lastSeq-a.ackedSeq+batch <= maxBacklog*batch {
		a.lastSeq += batch
		a.s.unacked.Add(int64(batch))
	}
	a.sendLocked()
	a.evTimer.Reset(a.eventInterval())
}

func (a *agent) heartbeat() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.timersOff {
		return
	}
	if a.stream != nil {
		if err := a.stream.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Heartbeat{Heartbeat: &vcguardv1.Heartbeat{Time: timestamppb.Now()}}}); err != nil {
			a.cancelStream()
		}
	}
	a.hbTimer.Reset(a.s.cfg.Heartbeat)
}

func (a *agent) stopTimers() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.timersOff = true
	if a.evTimer != nil {
		a.evTimer.Stop()
	}
	if a.hbTimer != nil {
		a.hbTimer.Stop()
	}
}

// sendLocked sends the next batch of recorded events when the stream is up
// and no batch is in flight.
func (a *agent) sendLocked() {
	if a.stream == nil || a.inFlight || a.sentSeq >= a.lastSeq {
		return
	}
	now := time.Now()
	to := min(a.lastSeq, a.sentSeq+uint64(a.s.cfg.Batch))
	events := make([]*vcguardv1.Event, 0, to-a.sentSeq)
	for seq := a.sentSeq + 1; seq <= to; seq++ {
		switch v, ok := a.applied[seq]; {
		case seq == a.invSeq:
			events = append(events, inventoryEvent(seq, now))
		case ok:
			events = append(events, policyAppliedEvent(seq, now, v))
		default:
			events = append(events, eventFor(seq, a.s.base, now, a.policyVersion))
		}
	}
	if err := a.stream.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Batch{Batch: &vcguardv1.EventBatch{Events: events}}}); err != nil {
		// The reading goroutine sees the stream end and reconnects.
		a.cancelStream()
		return
	}
	a.sentSeq, a.inFlight, a.sentAt = to, true, now
}

// advanceLocked records that the server has stored up to seq.
func (a *agent) advanceLocked(seq uint64) {
	if seq <= a.ackedSeq {
		return
	}
	if seq > a.lastSeq {
		// More than this run recorded: events of an earlier run the
		// server stored after its last acknowledgement reached us.
		a.s.unacked.Add(int64(seq - a.lastSeq))
		a.lastSeq = seq
	}
	n := int64(seq - a.ackedSeq)
	a.s.acked.Add(n)
	a.s.unacked.Add(-n)
	a.ackedSeq = seq
	for s := range a.applied {
		if s <= seq {
			delete(a.applied, s)
		}
	}
}

func (a *agent) onAck(seq uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.advanceLocked(seq)
	if a.inFlight && seq >= a.sentSeq {
		a.inFlight = false
		a.s.ack.observe(time.Since(a.sentAt))
	}
	a.sendLocked()
}

// onPolicy verifies a pushed policy against the pinned key, as the agent
// does, and records policy_applied for a newer version.
func (a *agent) onPolicy(sp *vcguardv1.SignedPolicy) {
	if sp == nil {
		return
	}
	now := time.Now()
	if len(a.id.PolicyKey) > 0 {
		if err := policies.VerifyPolicy(a.id.PolicyKey, sp.GetVersion(), sp.GetDocument(), sp.GetSignature()); err != nil {
			a.s.errs.add("policy_signature")
			return
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	v := sp.GetVersion()
	if v > a.s.startPolicy && a.pushAt.IsZero() {
		a.pushAt, a.pushVersion = now, v
	}
	if v <= a.policyVersion {
		return
	}
	a.policyVersion = v
	a.lastSeq++
	if a.applied == nil {
		a.applied = make(map[uint64]uint64, 1)
	}
	a.applied[a.lastSeq] = v
	a.s.unacked.Add(1)
	a.sendLocked()
}

// storedSeq asks the server for the last sequence number it stored of this
// device: a new stream's hello is answered with it.
func (a *agent) storedSeq(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := vcguardv1.NewAgentServiceClient(a.conn).Connect(ctx)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	version := a.policyVersion
	a.mu.Unlock()
	if err := st.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Hello{Hello: &vcguardv1.Hello{
		Device: deviceInfo(a.i), PolicyVersion: version}}}); err != nil {
		return 0, err
	}
	for {
		m, err := st.Recv()
		if err != nil {
			return 0, fmt.Errorf("read the hello's answer: %w", err)
		}
		if ack := m.GetAck(); ack != nil {
			// End the stream from this side and let the server finish
			// its side (a cancel mid-hello is logged there as an error).
			if err := st.CloseSend(); err == nil {
				for {
					if _, err := st.Recv(); err != nil {
						break
					}
				}
			}
			return ack.GetSeq(), nil
		}
	}
}
