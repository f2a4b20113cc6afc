// Package agentapi serves the AgentService: enrollment and the long-lived,
// mutually authenticated stream every agent holds.
package agentapi

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/connlimit"
	"github.com/vcguard/vcguard/server/fanout"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/pki"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// maxBatch bounds the events of one batch; an agent sends smaller ones.
const maxBatch = 1000

// Server implements vcguardv1.AgentServiceServer.
type Server struct {
	vcguardv1.UnimplementedAgentServiceServer

	Store     *store.Store
	CA        *pki.Authority
	PolicyKey ed25519.PublicKey
	Hub       *fanout.Hub
	Logger    *slog.Logger
	// Metrics records connections, ingested events, policy pushes and
	// store latency; nil records nothing.
	Metrics *metrics.Metrics
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	// EnrollPerAddr and EnrollPerSecret bound the enrollment rate per
	// source address (connlimit.Key) and per valid enrollment secret;
	// nil means the defaults (DefaultEnrollPerAddr, DefaultEnrollPerSecret).
	EnrollPerAddr, EnrollPerSecret *connlimit.Buckets
	// RefusalDelay is how long a refused enrollment waits before it is
	// answered: 0 means DefaultRefusalDelay, a negative value none.
	RefusalDelay time.Duration
	// Streams, when set (replicas sharing PostgreSQL), announces each
	// stream a Connect opens to every replica, so that the device's
	// stream on another replica ends (fanout.Hub.Heard); nil on SQLite.
	Streams StreamAnnouncer
	// Budgets bound what each device may store; zero fields mean
	// DefaultDeviceBudgets.
	Budgets DeviceBudgets

	shutdownOnce sync.Once
	shutdown     chan struct{}
	initOnce     sync.Once
	sampler      *connlimit.Sampler
	limits       *deviceLimits
	// refusalAudit bounds the audit entries of refused enrollments
	// (DefaultRefusalAudit); refusalsNotAudited counts those left out
	// since the last audited one.
	refusalAudit       *connlimit.Buckets
	refusalsNotAudited atomic.Int64
}

// Default enrollment budgets. Per address: 30 at once, then 2 a second
// (an office behind one NAT address enrolling 500 laptops takes about four
// minutes; the agent retries ResourceExhausted with backoff). Per secret:
// 200 at once, then 20 a second (72,000 devices an hour).
var (
	DefaultEnrollPerAddr   = connlimit.Buckets{Rate: 2, Burst: 30}
	DefaultEnrollPerSecret = connlimit.Buckets{Rate: 20, Burst: 200}
)

// Refusal reasons of Enroll, the values of vcguard_refused_total's reason.
const (
	ReasonEnrollRateAddr   = "enroll_rate_addr"
	ReasonEnrollRateSecret = "enroll_rate_secret"
)

func (s *Server) init() {
	s.initOnce.Do(func() {
		if s.EnrollPerAddr == nil {
			s.EnrollPerAddr = &connlimit.Buckets{Rate: DefaultEnrollPerAddr.Rate, Burst: DefaultEnrollPerAddr.Burst}
		}
		if s.EnrollPerSecret == nil {
			s.EnrollPerSecret = &connlimit.Buckets{Rate: DefaultEnrollPerSecret.Rate, Burst: DefaultEnrollPerSecret.Burst}
		}
		s.sampler = &connlimit.Sampler{Logger: s.Logger}
		s.refusalAudit = &connlimit.Buckets{Rate: DefaultRefusalAudit.Rate, Burst: DefaultRefusalAudit.Burst}
		s.limits = newDeviceLimits(s.Budgets, s.Now)
	})
}

func (s *Server) shutdownCh() chan struct{} {
	s.shutdownOnce.Do(func() { s.shutdown = make(chan struct{}) })
	return s.shutdown
}

// Shutdown ends every open stream once its in-flight batch is stored, so
// the gRPC server can stop gracefully; agents reconnect to another replica
// or when this one is back.
func (s *Server) Shutdown() { close(s.shutdownCh()) }

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// DefaultRefusalDelay is how long a refused enrollment (over a rate, or a
// wrong secret) waits before it is answered. A client that floods Enroll
// then gets at most MaxConcurrentStreams answers per connection a delay,
// instead of thousands a second that each cost the server a lookup, a log
// sample and a response; a real agent retries after seconds anyway.
const DefaultRefusalDelay = time.Second

// tarpit waits the refusal delay, or until the caller gives up.
func (s *Server) tarpit(ctx context.Context) {
	d := s.RefusalDelay
	if d == 0 {
		d = DefaultRefusalDelay
	}
	if d < 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-s.shutdownCh():
	}
}

// certFromPeer returns the device id and the serial number (hex, as the
// store keeps it) of the verified client certificate.
func certFromPeer(ctx context.Context) (deviceID, serial string, err error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", "", errors.New("no peer")
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return "", "", errors.New("not a TLS connection")
	}
	if len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return "", "", errors.New("no verified client certificate")
	}
	leaf := ti.State.VerifiedChains[0][0]
	return leaf.Subject.CommonName, leaf.SerialNumber.Text(16), nil
}

// StreamAnnouncer tells the other server replicas that a stream of a
// device opened here (fanout.PostgresAnnouncer).
type StreamAnnouncer interface {
	AnnounceStream(ctx context.Context, deviceID string, stream uint64) error
}

// StreamReplacedMessage ends a stream when a newer Connect of the same
// device opens: a device has one live stream.
const StreamReplacedMessage = "replaced by a newer connection of this device"

// helloTimeout bounds the wait for a stream's hello.
const helloTimeout = time.Minute

// ReplacedMessage is what an agent presenting a certificate that a renewal
// replaced is told: only the device's current certificate is accepted, so
// a copy of an old one (a stolen key) is worth nothing once the device
// renewed.
const ReplacedMessage = "this client certificate was replaced by a renewal; only the device's current certificate is accepted"

// currentCert refuses a certificate that is not the device's current one.
func currentCert(dev store.Device, serial string) error {
	if dev.CertSerial != "" && serial != dev.CertSerial {
		return refusal(ReasonCertReplaced, ReplacedMessage)
	}
	return nil
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// Connect serves an agent's stream: hello, then event batches (acknowledged
// once stored) and heartbeats; policy updates are pushed as they are
// published.
func (s *Server) Connect(stream vcguardv1.AgentService_ConnectServer) error {
	s.init()
	ctx := stream.Context()
	deviceID, serial, err := certFromPeer(ctx)
	if err != nil {
		return status.Errorf(codes.Unauthenticated, "a client certificate is required: %v; enroll the agent first", err)
	}
	log := s.Logger.With("rpc", "Connect", "device", deviceID, "peer", peerAddr(ctx))
	// Subscribe before reading revoked_at, so a revocation that lands in
	// between still cuts the stream off.
	sub := s.Hub.Subscribe(deviceID)
	defer s.Hub.Unsubscribe(sub)
	dev, err := s.Store.DeviceRecord(ctx, deviceID)
	if errors.Is(err, store.ErrNotFound) {
		return status.Errorf(codes.PermissionDenied, "device %s is not enrolled here", deviceID)
	}
	if err != nil {
		log.Error("load device", "err", err)
		return status.Error(codes.Internal, "server error")
	}
	if !dev.Revoked.IsZero() {
		log.Warn("connect refused: device revoked")
		return errRevoked()
	}
	if err := currentCert(dev, serial); err != nil {
		log.Warn("connect refused: a replaced certificate", "serial", serial)
		return err
	}

	// One live stream per device: a new one ends the older ones (a
	// reconnect whose old connection is not yet seen dead, or a copy of
	// the certificate).
	s.Hub.Claim(sub)
	if s.Streams != nil {
		if err := s.Streams.AnnounceStream(ctx, deviceID, sub.Stream); err != nil {
			// Without its announcement the older stream on another
			// replica stays until it ends by itself; this one can still
			// be ended by a later announcement.
			s.Hub.Announced(sub)
			s.sampler.Log(slog.LevelWarn, "announce_stream", "could not tell the other replicas about a new stream (sampled)", "device", deviceID, "err", err)
		}
	}

	// Receive in a goroutine so shutdown, revocation and replacement can
	// end the stream between messages; each message is handled to
	// completion below.
	recvCtx, stopRecv := context.WithCancel(ctx)
	defer stopRecv()
	msgs := make(chan *vcguardv1.AgentMessage)
	recvErr := make(chan error, 1)
	go func() {
		for {
			msg, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case msgs <- msg:
			case <-recvCtx.Done():
				return
			}
		}
	}()
	// ended reports why the stream must end now, if it must.
	ended := func() error {
		select {
		case <-s.shutdownCh():
			return status.Error(codes.Unavailable, "server shutting down; reconnect")
		case <-sub.Revoked:
			log.Warn("device revoked: stream cut off")
			return errRevoked()
		case <-sub.Replaced:
			s.Metrics.StreamReplaced()
			log.Info("stream replaced by a newer connection of the device")
			return status.Error(codes.Aborted, StreamReplacedMessage)
		default:
			return nil
		}
	}
	helloTimer := time.NewTimer(helloTimeout)
	defer helloTimer.Stop()
	var first *vcguardv1.AgentMessage
	select {
	case err := <-recvErr:
		return err
	case <-helloTimer.C:
		return status.Error(codes.DeadlineExceeded, "no hello within a minute")
	case <-s.shutdownCh():
	case <-sub.Revoked:
	case <-sub.Replaced:
	case first = <-msgs:
	}
	if err := ended(); err != nil {
		return err
	}
	hello := first.GetHello()
	if hello == nil {
		return status.Error(codes.InvalidArgument, "the first message on the stream must be a hello")
	}
	if hello.GetDevice() == nil {
		return status.Error(codes.InvalidArgument, "hello.device is required")
	}
	if err := checkDeviceInfo(hello.GetDevice()); err != nil {
		return err
	}
	storeDone := s.Metrics.StoreTimer(metrics.OpDeviceConnected)
	err = s.Store.DeviceConnected(ctx, deviceID, hello.GetDevice(), s.now())
	storeDone()
	if err != nil {
		log.Error("record connect", "err", err)
		return status.Error(codes.Internal, "server error")
	}
	// agentCatalog is the catalog version the agent uses, as it last said.
	agentCatalog := hello.GetCatalogVersion()
	catalogReports := 0
	if err := s.recordCatalogVersion(ctx, deviceID, dev.CatalogVersion, agentCatalog); err != nil {
		return err
	}
	log.Info("agent connected", "policy_version", hello.GetPolicyVersion(), "catalog_version", agentCatalog)
	s.Metrics.AgentConnected()
	defer s.Metrics.AgentDisconnected()
	defer func() {
		// The stream context is done; record the disconnect regardless.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.Store.DeviceDisconnected(dctx, deviceID, s.now()); err != nil {
			log.Error("record disconnect", "err", err)
		}
		log.Info("agent disconnected")
	}()

	// Only this goroutine sends on the stream (acks and pushes alike).
	send := stream.Send
	// Acknowledge what is already stored, so an agent whose ack was lost
	// drops those events at once.
	if err := send(&vcguardv1.ServerMessage{Msg: &vcguardv1.ServerMessage_Ack{Ack: &vcguardv1.Ack{Seq: dev.LastSeq}}}); err != nil {
		return err
	}

	// The catalog first: the policy may name an app only a newer catalog
	// knows. An agent that reports no catalog version predates catalog
	// updates and is sent none.
	if agentCatalog > 0 {
		if cur, err := s.Store.CurrentCatalog(ctx); err == nil && cur.Version > agentCatalog {
			if err := send(catalogMessage(fanout.SignedCatalog(cur))); err != nil {
				return err
			}
			log.Info("catalog pushed", "version", cur.Version, "agent_catalog_version", agentCatalog)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			log.Error("load current catalog", "err", err)
		}
	}
	if cur, err := s.Store.CurrentPolicy(ctx); err == nil && cur.Version > hello.GetPolicyVersion() {
		if err := send(policyMessage(cur)); err != nil {
			return err
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		log.Error("load current policy", "err", err)
	}
	// The group as the server holds it now: an admin may have moved the
	// device since it enrolled or last connected.
	pushGroup := func(g string) error {
		return send(&vcguardv1.ServerMessage{Msg: &vcguardv1.ServerMessage_Group{Group: &vcguardv1.GroupUpdate{Group: g}}})
	}
	if err := pushGroup(dev.Group); err != nil {
		return err
	}

	// push sends a published policy. It runs in this goroutine, between
	// batches, rather than in one of its own: a stream then costs one
	// goroutine less (a fleet holds tens of thousands), and a push waits
	// at most for the batch being stored, which the group commit keeps
	// short. The hub keeps only the newest undelivered version.
	push := func(p *vcguardv1.SignedPolicy) error {
		if err := send(&vcguardv1.ServerMessage{Msg: &vcguardv1.ServerMessage_Policy{Policy: &vcguardv1.PolicyUpdate{Policy: p}}}); err != nil {
			log.Warn("push policy", "version", p.GetVersion(), "err", err)
			return err
		}
		s.Metrics.PolicyPushed(p.GetPublished().AsTime(), time.Now())
		log.Info("policy pushed", "version", p.GetVersion())
		return nil
	}

	// pushCatalog sends a published catalog version the agent does not
	// have yet.
	pushCatalog := func(c *vcguardv1.SignedCatalog) error {
		if agentCatalog == 0 || c.GetVersion() <= agentCatalog {
			return nil
		}
		if err := send(catalogMessage(c)); err != nil {
			log.Warn("push catalog", "version", c.GetVersion(), "err", err)
			return err
		}
		log.Info("catalog pushed", "version", c.GetVersion())
		return nil
	}

	// throttle waits d before the next batch is stored (a device over its
	// event rate), unless the stream must end first.
	throttle := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		for {
			select {
			case p := <-sub.C:
				if err := push(p); err != nil {
					return err
				}
				continue
			case c := <-sub.Catalog:
				if err := pushCatalog(c); err != nil {
					return err
				}
				continue
			case g := <-sub.Group:
				if err := pushGroup(g); err != nil {
					return err
				}
				continue
			case <-t.C:
				return nil
			case err := <-recvErr:
				return err
			case <-ctx.Done():
				return status.FromContextError(ctx.Err()).Err()
			case <-s.shutdownCh():
			case <-sub.Revoked:
			case <-sub.Replaced:
			}
			return ended()
		}
	}
	// stored is the highest sequence number known stored: events of a
	// resent batch at or below it are skipped by the store, not counted.
	stored := dev.LastSeq
	for {
		var msg *vcguardv1.AgentMessage
		select {
		case err := <-recvErr:
			return err
		case <-s.shutdownCh():
		case <-sub.Revoked:
		case <-sub.Replaced:
		case p := <-sub.C:
			if err := push(p); err != nil {
				return err
			}
			continue
		case c := <-sub.Catalog:
			if err := pushCatalog(c); err != nil {
				return err
			}
			continue
		case g := <-sub.Group:
			if err := pushGroup(g); err != nil {
				return err
			}
			continue
		case msg = <-msgs:
		}
		if msg == nil {
			return ended()
		}
		switch m := msg.GetMsg().(type) {
		case *vcguardv1.AgentMessage_Batch:
			events := m.Batch.GetEvents()
			if len(events) > maxBatch {
				return status.Errorf(codes.InvalidArgument, "batch has %d events, at most %d are accepted", len(events), maxBatch)
			}
			if err := checkOrder(events); err != nil {
				return status.Errorf(codes.InvalidArgument, "batch: %v", err)
			}
			// Before the budgets, which then measure the events as stored.
			s.resolveEvents(deviceID, events, stored)
			if err := s.admitBatch(deviceID, events, stored, throttle); err != nil {
				return err
			}
			storeDone := s.Metrics.StoreTimer(metrics.OpIngest)
			last, err := s.Store.IngestEvents(ctx, deviceID, events, s.now())
			storeDone()
			if errors.Is(err, store.ErrInvalidEvent) {
				return status.Errorf(codes.InvalidArgument, "batch: %v", err)
			}
			if err != nil {
				log.Error("ingest", "err", err)
				return status.Error(codes.Internal, "could not store events; the agent will resend them")
			}
			s.countIngested(events, stored, last)
			stored = max(stored, last)
			if err := send(&vcguardv1.ServerMessage{Msg: &vcguardv1.ServerMessage_Ack{Ack: &vcguardv1.Ack{Seq: last}}}); err != nil {
				return err
			}
		case *vcguardv1.AgentMessage_Heartbeat:
			storeDone := s.Metrics.StoreTimer(metrics.OpHeartbeat)
			err := s.Store.TouchDevice(ctx, deviceID, s.now())
			storeDone()
			if err != nil {
				log.Error("heartbeat", "err", err)
			}
		case *vcguardv1.AgentMessage_Catalog:
			// An agent's catalog only moves forward, once per published
			// version: anything else is refused rather than written.
			v := m.Catalog.GetVersion()
			if v <= agentCatalog {
				s.Metrics.Refused(ReasonCatalogStatus)
				return status.Errorf(codes.InvalidArgument, "catalog status %d is not above the version %d the agent reported before", v, agentCatalog)
			}
			if catalogReports++; catalogReports > maxCatalogReports {
				s.Metrics.Refused(ReasonCatalogStatus)
				return status.Errorf(codes.ResourceExhausted, "more than %d catalog status messages on one stream", maxCatalogReports)
			}
			if err := s.recordCatalogVersion(ctx, deviceID, agentCatalog, v); err != nil {
				return err
			}
			log.Info("agent uses a new catalog", "catalog_version", v, "was", agentCatalog)
			agentCatalog = v
		case *vcguardv1.AgentMessage_Hello:
			return status.Error(codes.InvalidArgument, "hello sent twice on one stream")
		default:
			return status.Error(codes.InvalidArgument, "unknown message on the stream")
		}
	}
}

// countIngested counts, by type, the events of a batch the store took: those
// above the sequence number stored before, up to the one stored now.
func (s *Server) countIngested(events []*vcguardv1.Event, before, last uint64) {
	if s.Metrics == nil {
		return
	}
	byType := map[string]int{}
	for _, e := range events {
		if e.GetSeq() > before && e.GetSeq() <= last {
			byType[store.EventType(e)]++
		}
	}
	for typ, n := range byType {
		s.Metrics.EventsIngested(typ, n)
	}
}

// checkOrder verifies sequence numbers are strictly increasing and each
// event has a time and a detail.
func checkOrder(events []*vcguardv1.Event) error {
	var prev uint64
	for i, e := range events {
		if e.GetSeq() == 0 || e.GetSeq() <= prev {
			return fmt.Errorf("events[%d].seq %d is not above %d", i, e.GetSeq(), prev)
		}
		if e.GetSeq() > math.MaxInt64 {
			return fmt.Errorf("events[%d].seq %d is above 2^63-1", i, e.GetSeq())
		}
		if e.GetTime() == nil {
			return fmt.Errorf("events[%d].time is missing", i)
		}
		if e.GetDetail() == nil {
			return fmt.Errorf("events[%d] has no detail", i)
		}
		prev = e.GetSeq()
	}
	return nil
}

// SignedPolicy converts a stored policy version to its wire form.
func SignedPolicy(p store.PolicyVersion) *vcguardv1.SignedPolicy { return fanout.SignedPolicy(p) }

func policyMessage(p store.PolicyVersion) *vcguardv1.ServerMessage {
	return &vcguardv1.ServerMessage{Msg: &vcguardv1.ServerMessage_Policy{Policy: &vcguardv1.PolicyUpdate{Policy: SignedPolicy(p)}}}
}

// maxCatalogReports bounds the catalog status messages of one stream: an
// agent sends one per catalog version it accepts.
const maxCatalogReports = 16

// ReasonCatalogStatus is the refusal reason of a stream whose catalog
// status goes backwards or comes more than maxCatalogReports times.
const ReasonCatalogStatus = "catalog_status"

func catalogMessage(c *vcguardv1.SignedCatalog) *vcguardv1.ServerMessage {
	return &vcguardv1.ServerMessage{Msg: &vcguardv1.ServerMessage_Catalog{Catalog: &vcguardv1.CatalogUpdate{Catalog: c}}}
}

// recordCatalogVersion stores the catalog version a device reports when it
// is not the one stored.
func (s *Server) recordCatalogVersion(ctx context.Context, deviceID string, stored, reported uint64) error {
	if reported > math.MaxInt64 {
		return status.Errorf(codes.InvalidArgument, "catalog version %d is above 2^63-1", reported)
	}
	if reported == stored {
		return nil
	}
	if err := s.Store.SetDeviceCatalogVersion(ctx, deviceID, reported); err != nil {
		s.Logger.Error("record catalog version", "device", deviceID, "err", err)
		return status.Error(codes.Internal, "server error")
	}
	return nil
}
