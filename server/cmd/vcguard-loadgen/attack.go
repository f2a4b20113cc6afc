package main

// The attacker (--attack): floods of issue 12's "Attacks — server" list, run
// during the whole hold alongside the well-behaved agents, from source
// addresses of their own (127.66.K.x, K the attack) so that the server's
// per-address limits fall on the attacker and not on the agents. Every
// attack is bounded in count (its flags) and in time (it ends with the
// hold), counts into its own attackStats (never the agents' errors), and
// holds at most the descriptors reserved for it before the run starts.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The attacks, in the order they are reported and numbered (K of their
// source addresses 127.66.K.x).
const (
	attackConns      = "conns"
	attackHandshake  = "handshake"
	attackEnroll     = "enroll"
	attackFlood      = "flood"
	attackDupConnect = "dupconnect"
)

var attackKinds = []string{attackConns, attackHandshake, attackEnroll, attackFlood, attackDupConnect}

const (
	// handshakeStreamsPerConn is the half-open streams tried on one
	// connection: twice the server's MaxConcurrentStreams (4), so its cap
	// is tested.
	handshakeStreamsPerConn = 8
	// dupStreamsPerConn is the Connect streams on one dupconnect
	// connection: the server's MaxConcurrentStreams.
	dupStreamsPerConn = 4
	// enrollAddrs bounds the addresses the enroll attack uses ("a few"),
	// enrollCallsPerAddr its calls in flight on each one's connection.
	enrollAddrs        = 4
	enrollCallsPerAddr = 4
	// refusedWithin: a connection or stream the server ends sooner than
	// this after it was opened was refused; one it holds longer was
	// accepted.
	refusedWithin = 500 * time.Millisecond
	// attackDescriptorsSpare is kept for the attack's enrollments and
	// transient connections.
	attackDescriptorsSpare = 32
)

// attackStats is what one attack did. attempts counts what it tried
// (connections, streams, calls, batches); each attempt ends as accepted
// (the server took it), refused (the server said no, or closed it within
// refusedWithin: the bound working) or an error (anything else).
type attackStats struct {
	attempts, refused, accepted atomic.Int64
	refusedBy, errs             errorCounts
	// endedBy counts, by code, what the server ended after accepting it.
	endedBy errorCounts
	// open is what is held now (connections, streams), openMax its peak.
	open, openMax atomic.Int64
	connections   atomic.Int64
	// enroll
	realSecret atomic.Int64
	// flood
	eventsSent, eventsAcked, hostnameClaims atomic.Int64
	started, stopped                        time.Time
}

func (st *attackStats) opened() {
	n := st.open.Add(1)
	for {
		m := st.openMax.Load()
		if n <= m || st.openMax.CompareAndSwap(m, n) {
			return
		}
	}
}

// refusalCodes are the answers by which the server refuses an attacker:
// its limits, its authentication, the replacement of a device's stream.
var refusalCodes = []codes.Code{codes.ResourceExhausted, codes.PermissionDenied, codes.Unauthenticated,
	codes.Aborted, codes.Unavailable, codes.InvalidArgument}

// settle counts one attempt that ended with err (nil: accepted).
func (st *attackStats) settle(err error) {
	if err == nil {
		st.accepted.Add(1)
		return
	}
	c := status.Code(err)
	kind := codeKind(err)
	if slices.Contains(refusalCodes, c) {
		st.refused.Add(1)
		st.refusedBy.add(kind)
		return
	}
	st.errs.add(kind)
}

// codeKind is the gRPC code of err as a report key.
func codeKind(err error) string { return strings.ToLower(status.Code(err).String()) }

// attackReport is one attack's part of the report ("attack" in --json).
type attackReport struct {
	Attempts int64            `json:"attempts"`
	Refused  int64            `json:"refused"`
	Accepted int64            `json:"accepted"`
	Errors   map[string]int64 `json:"errors"`
	// RefusedBy is the refusals by gRPC code or reason.
	RefusedBy map[string]int64 `json:"refused_by"`
	// EndedBy is how the server ended what it had accepted, by gRPC code
	// or reason.
	EndedBy map[string]int64 `json:"ended_by,omitempty"`
	Seconds float64          `json:"seconds"`
	// OpenMax and OpenAtEnd: connections (conns) or streams (handshake,
	// dupconnect) the server held at once, at the peak and at the end.
	OpenMax     int64 `json:"open_max"`
	OpenAtEnd   int64 `json:"open_at_end"`
	Connections int64 `json:"connections,omitempty"`
	// RealSecretAttempts: enroll calls with the real secret.
	RealSecretAttempts int64 `json:"real_secret_attempts,omitempty"`
	// Flood: devices, events sent, acknowledged and counted back, hellos
	// claiming another device's hostname.
	Devices            int    `json:"devices,omitempty"`
	EventsSent         int64  `json:"events_sent,omitempty"`
	EventsAcked        int64  `json:"events_acked,omitempty"`
	EventsStored       int64  `json:"events_stored,omitempty"`
	EventsStoredSource string `json:"events_stored_source,omitempty"`
	HostnameClaims     int64  `json:"hostname_claims,omitempty"`
}

// attacker runs the --attack list.
type attacker struct {
	s      *sim
	cfg    *config
	logger *slog.Logger
	stats  map[string]*attackStats
	// floodIDs and dupID are enrolled before the ramp.
	floodIDs []*identity
	dupID    *identity
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	// draining stops dupconnect from opening streams, so that what is
	// open at the end is what the server let live, not a replacement on
	// its way.
	draining atomic.Bool
}

// newAttacker enrolls the devices the flood and dupconnect attacks use
// (from their own addresses), before the agents' ramp.
func newAttacker(ctx context.Context, s *sim) (*attacker, error) {
	a := &attacker{s: s, cfg: s.cfg, logger: s.logger.With("attack", true), stats: map[string]*attackStats{}}
	for _, k := range s.cfg.Attack {
		a.stats[k] = &attackStats{}
	}
	enrollDev := func(kind string, n int, name string) (*identity, error) {
		info := &vcguardv1.DeviceInfo{Hostname: name, Os: "linux", OsVersion: "Debian 12", Arch: "amd64", AgentVersion: "loadgen-attack"}
		id, err := s.enrollAs(ctx, attackAddr(kind, n, s.cfg.AttackAddrs), info, func() {})
		if err != nil {
			return nil, fmt.Errorf("enroll the attacker's device %s: %w", name, err)
		}
		return id, nil
	}
	if s.cfg.attacks(attackFlood) {
		for k := range s.cfg.AttackDevices {
			id, err := enrollDev(attackFlood, k, fmt.Sprintf("attack-flood-%03d", k))
			if err != nil {
				return nil, err
			}
			a.floodIDs = append(a.floodIDs, id)
		}
	}
	if s.cfg.attacks(attackDupConnect) {
		id, err := enrollDev(attackDupConnect, 0, "attack-dupconnect")
		if err != nil {
			return nil, err
		}
		a.dupID = id
	}
	return a, nil
}

// start runs every attack until stop.
func (a *attacker) start(ctx context.Context) {
	ctx, a.cancel = context.WithCancel(ctx)
	for _, k := range a.cfg.Attack {
		st := a.stats[k]
		st.started = time.Now()
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			switch k {
			case attackConns:
				a.runConns(ctx, st)
			case attackHandshake:
				a.runHandshake(ctx, st)
			case attackEnroll:
				a.runEnroll(ctx, st)
			case attackFlood:
				a.runFlood(ctx, st)
			case attackDupConnect:
				a.runDupConnect(ctx, st)
			}
			st.stopped = time.Now()
		}()
	}
	a.logger.Info("attacks started", "attacks", strings.Join(a.cfg.Attack, ","))
}

// stop ends the attacks and waits for them: every connection they hold is
// closed when it returns. What is open at that moment is recorded first.
func (a *attacker) stop() map[string]int64 {
	// A replaced dupconnect stream is open on this side until the
	// server's abort arrives: open no more, and give those in flight up
	// to 2 s to end, so a replacement caught half-way is not counted as
	// a second live stream.
	a.draining.Store(true)
	if st, ok := a.stats[attackDupConnect]; ok {
		for deadline := time.Now().Add(2 * time.Second); st.open.Load() > 1 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
	}
	openAtEnd := make(map[string]int64, len(a.stats))
	for k, st := range a.stats {
		openAtEnd[k] = st.open.Load()
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	return openAtEnd
}

// report is the attacks' part of the report; flood's stored events are
// counted back through the admin API (adm may be nil).
func (a *attacker) report(ctx context.Context, adm *adminClient, openAtEnd map[string]int64) map[string]*attackReport {
	out := make(map[string]*attackReport, len(a.stats))
	for k, st := range a.stats {
		_, errs := st.errs.snapshot()
		_, refusedBy := st.refusedBy.snapshot()
		_, endedBy := st.endedBy.snapshot()
		r := &attackReport{
			Attempts: st.attempts.Load(), Refused: st.refused.Load(), Accepted: st.accepted.Load(),
			Errors: errs, RefusedBy: refusedBy, EndedBy: endedBy, OpenMax: st.openMax.Load(), OpenAtEnd: openAtEnd[k],
			Connections: st.connections.Load(), RealSecretAttempts: st.realSecret.Load(),
			EventsSent: st.eventsSent.Load(), EventsAcked: st.eventsAcked.Load(), HostnameClaims: st.hostnameClaims.Load(),
		}
		if !st.started.IsZero() && st.stopped.After(st.started) {
			r.Seconds = seconds(st.stopped.Sub(st.started))
		}
		if k == attackFlood {
			r.Devices = len(a.floodIDs)
			if adm != nil && ctx.Err() == nil {
				r.EventsStoredSource = "api_events_stored"
				for _, id := range a.floodIDs {
					n, ok, err := adm.eventsStored(ctx, id.DeviceID)
					if err != nil || !ok {
						r.EventsStoredSource = "incomplete"
						continue
					}
					r.EventsStored += n
				}
			}
		}
		out[k] = r
	}
	return out
}

// pause waits d with ±50% jitter, or until ctx ends; it reports whether
// to go on.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d/2 + rand.N(d+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// dialErrKind names a failed dial for the errors by kind.
func dialErrKind(err error) string {
	switch {
	case errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE):
		return "dial_emfile"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "dial_refused"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "dial_addr_not_available"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT):
		return "dial_timeout"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "dial_timeout"
	}
	return "dial"
}

// runConns holds up to --attack-conns plain TCP connections to the gRPC
// port that never start TLS, each slot re-opening its connection when the
// server closes it. A connection closed within refusedWithin was refused
// (the listener's caps); one held longer was accepted (until the
// handshake timeout closes it).
func (a *attacker) runConns(ctx context.Context, st *attackStats) {
	var wg sync.WaitGroup
	for n := range a.cfg.AttackConns {
		src := attackAddr(attackConns, n, a.cfg.AttackAddrs)
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.connSlot(ctx, src, st)
		}()
	}
	wg.Wait()
}

func (a *attacker) connSlot(ctx context.Context, src net.IP, st *attackStats) {
	// Spread the first dials over a second.
	if !pause(ctx, time.Second) {
		return
	}
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 5 * time.Second}
		c, err := d.DialContext(ctx, "tcp", a.cfg.Server)
		if ctx.Err() != nil {
			if c != nil {
				c.Close()
			}
			return
		}
		st.attempts.Add(1)
		if err != nil {
			st.errs.add(dialErrKind(err))
			if !pause(ctx, wait) {
				return
			}
			wait = min(wait*2, 2*time.Second)
			continue
		}
		stopOnEnd := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
		var buf [64]byte
		c.SetReadDeadline(time.Now().Add(refusedWithin))
		_, err = c.Read(buf[:])
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
			// Held: the server accepted it and waits for a handshake
			// that never comes.
			st.accepted.Add(1)
			st.opened()
			c.SetReadDeadline(time.Time{})
			for err == nil || (errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil) {
				_, err = c.Read(buf[:])
			}
			st.open.Add(-1)
			if ctx.Err() == nil {
				st.endedBy.add("closed_by_server")
			}
			wait = 100 * time.Millisecond
		} else if ctx.Err() == nil {
			st.refused.Add(1)
			st.refusedBy.add("closed_at_once")
		} else {
			// The hold ended before the outcome was known.
			st.attempts.Add(-1)
		}
		stopOnEnd()
		c.Close()
		if !pause(ctx, wait) {
			return
		}
		wait = min(wait*2, 2*time.Second)
	}
}

// runHandshake opens TLS connections without a client certificate and, on
// each, handshakeStreamsPerConn Enroll streams that never send their
// request: half-open streams the server holds until the connection ends.
// Streams past the server's MaxConcurrentStreams wait for a slot; one that
// waited longer than 3 s was refused ("max_concurrent_streams").
func (a *attacker) runHandshake(ctx context.Context, st *attackStats) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: a.s.roots, ServerName: a.s.serverName}
	conns := ceilDiv(a.cfg.AttackStreams, handshakeStreamsPerConn)
	var wg sync.WaitGroup
	for n := range conns {
		cc, err := grpc.NewClient(a.s.target(), dialOptionsFrom(attackAddr(attackHandshake, n, a.cfg.AttackAddrs), tlsConf)...)
		if err != nil {
			st.errs.add("dial")
			continue
		}
		st.connections.Add(1)
		streams := min(handshakeStreamsPerConn, a.cfg.AttackStreams-n*handshakeStreamsPerConn)
		for range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a.halfOpenSlot(ctx, cc, st)
			}()
		}
		defer cc.Close()
	}
	wg.Wait()
}

var enrollStreamDesc = &grpc.StreamDesc{StreamName: "Enroll", ClientStreams: true, ServerStreams: true}

const enrollMethod = "/" + "vcguard.v1.AgentService" + "/Enroll"

func (a *attacker) halfOpenSlot(ctx context.Context, cc *grpc.ClientConn, st *attackStats) {
	if !pause(ctx, time.Second) {
		return
	}
	for ctx.Err() == nil {
		sctx, cancel := context.WithCancel(ctx)
		quota := time.AfterFunc(3*time.Second, cancel)
		st.attempts.Add(1)
		cs, err := cc.NewStream(sctx, enrollStreamDesc, enrollMethod)
		waited := !quota.Stop()
		if ctx.Err() != nil {
			cancel()
			st.attempts.Add(-1)
			return
		}
		if err != nil {
			cancel()
			if waited {
				st.refused.Add(1)
				st.refusedBy.add("max_concurrent_streams")
			} else {
				st.settle(err)
			}
			if !pause(ctx, time.Second) {
				return
			}
			continue
		}
		// Never send: wait for the server to end it, or for the end.
		held := time.AfterFunc(refusedWithin, func() { st.accepted.Add(1); st.opened() })
		err = cs.RecvMsg(new(vcguardv1.EnrollResponse))
		if held.Stop() {
			// Ended within refusedWithin.
			if ctx.Err() == nil {
				st.settle(err)
			} else {
				st.attempts.Add(-1)
			}
		} else {
			st.open.Add(-1)
			if ctx.Err() == nil {
				st.endedBy.add(codeKind(err))
			}
		}
		cancel()
		if !pause(ctx, time.Second) {
			return
		}
	}
}

// runEnroll calls Enroll from a few addresses as fast as the answers come:
// with a wrong secret, and every other call with the real one until
// --attack-enroll-max such calls were made (each one a new device).
func (a *attacker) runEnroll(ctx context.Context, st *attackStats) {
	csr, err := newCSR("attack-enroll")
	if err != nil {
		st.errs.add("csr")
		return
	}
	wrong := fmt.Sprintf("wrong-%016x", rand.Uint64())
	var wg sync.WaitGroup
	for n := range min(enrollAddrs, a.cfg.AttackAddrs) {
		cc, err := grpc.NewClient(a.s.target(), dialOptionsFrom(attackAddr(attackEnroll, n, a.cfg.AttackAddrs), a.s.enrollTLS)...)
		if err != nil {
			st.errs.add("dial")
			continue
		}
		defer cc.Close()
		st.connections.Add(1)
		api := vcguardv1.NewAgentServiceClient(cc)
		for w := range enrollCallsPerAddr {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					secret := wrong
					if i%2 == 0 && st.realSecret.Load() < int64(a.cfg.AttackEnrollMax) {
						if st.realSecret.Add(1) <= int64(a.cfg.AttackEnrollMax) {
							secret = a.s.secret
						}
					}
					info := &vcguardv1.DeviceInfo{Hostname: fmt.Sprintf("attack-enroll-%d-%d-%d", n, w, i), Os: "linux", AgentVersion: "loadgen-attack"}
					callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
					st.attempts.Add(1)
					_, err := api.Enroll(callCtx, &vcguardv1.EnrollRequest{EnrollSecret: secret, CsrDer: csr, Device: info})
					cancel()
					if ctx.Err() != nil {
						st.attempts.Add(-1)
						return
					}
					st.settle(err)
					if status.Code(err) == codes.Unavailable && !pause(ctx, 200*time.Millisecond) {
						return
					}
				}
			}()
		}
	}
	wg.Wait()
}

// newCSR is a certificate signing request for a new P-256 key.
func newCSR(name string) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		return nil, err
	}
	return x509.CreateCertificateRequest(crand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}}, key)
}
