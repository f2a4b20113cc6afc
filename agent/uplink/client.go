package uplink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"google.golang.org/protobuf/proto"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Outbox is what the client needs of the agent's event spool.
type Outbox interface {
	Pending(after uint64, max int) []*vcguardv1.Event
	Ack(seq uint64) error
	Notify() <-chan struct{}
}

// Client holds the stream to the server.
type Client struct {
	StateDir string
	Identity *Identity
	Outbox   Outbox
	// Hello returns the hello to open each stream with (device facts and
	// the applied policy version).
	Hello func() *vcguardv1.Hello
	// OnPolicy receives every policy update; it verifies and applies it.
	OnPolicy func(*vcguardv1.SignedPolicy)
	// OnCatalog receives every catalog update; it verifies and applies
	// it. Nil ignores them.
	OnCatalog func(*vcguardv1.SignedCatalog)
	// OnGroup receives the device group when the server says it changed
	// (after a hello, or an admin moving the device; a renewal too). It is
	// recorded in the identity first. Nil only records it.
	OnGroup func(group string)
	// CatalogChanged signals that the catalog version in use changed, and
	// CatalogVersion returns it: the stream reports it to the server
	// (the hello says it at connect). Nil for none.
	CatalogChanged <-chan struct{}
	CatalogVersion func() uint64
	Logger         *slog.Logger
	// Heartbeat is the interval of heartbeats; 0 means 30 s.
	Heartbeat time.Duration
	// BatchSize bounds the events per batch; 0 means 200.
	BatchSize int
	// Now returns the current time for the renewal decision; nil means
	// time.Now.
	Now func() time.Time
	// RevokedBackoff is the wait before trying again after the server
	// refused the device (revoked, unknown); 0 means 1 h.
	RevokedBackoff time.Duration

	// cert is the client certificate in use; renewal replaces it and new
	// connections present the new one.
	cert  atomic.Pointer[tls.Certificate]
	roots *x509.CertPool
	// groupMu orders group changes (the stream's and a renewal's).
	groupMu sync.Mutex
}

// setGroup records a device group the server sent, when it differs from
// the identity's, and tells OnGroup.
func (c *Client) setGroup(group string) {
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	if group == c.Identity.Group {
		return
	}
	c.Logger.Info("device group changed", "group", group, "was", c.Identity.Group)
	c.Identity.Group = group
	if err := writeIdentity(c.StateDir, c.Identity); err != nil {
		c.Logger.Warn("record the device group", "err", err)
	}
	if c.OnGroup != nil {
		c.OnGroup(group)
	}
}

// Run keeps a stream open until ctx ends, reconnecting with exponential
// backoff and jitter (1 s to 1 min), and renews the client certificate when
// a third of its lifetime remains. A connection the server ends to
// rebalance (GOAWAY after its maximum age) or because it shuts down is
// reopened at once; a device the server refuses (revoked) waits an hour.
func (c *Client) Run(ctx context.Context) error {
	creds, err := c.credentials()
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(c.Identity.Server,
		grpc.WithTransportCredentials(creds),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 60 * time.Second, Timeout: 20 * time.Second, PermitWithoutStream: true}),
	)
	if err != nil {
		return fmt.Errorf("server address %q: %w", c.Identity.Server, err)
	}
	defer conn.Close()
	api := vcguardv1.NewAgentServiceClient(conn)
	renewCtx, stopRenew := context.WithCancel(ctx)
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		c.renewLoop(renewCtx, api)
	}()
	defer func() {
		stopRenew()
		<-renewDone
	}()
	backoff := time.Second
	for {
		start := time.Now()
		err := c.stream(ctx, api)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > time.Minute {
			backoff = time.Second
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		switch {
		case refusedFor(err, "DEVICE_REVOKED"):
			wait = revokedBackoff(c.RevokedBackoff)
			c.Logger.Error("this device was revoked by the administrator: the server refuses it; trying again later, "+
				"or enroll it again with a new enrollment secret", "server", c.Identity.Server, "retry_in", wait)
		case status.Code(err) == codes.PermissionDenied || status.Code(err) == codes.Unauthenticated:
			wait = revokedBackoff(c.RevokedBackoff)
			c.Logger.Error("the server refuses this device; re-enroll it", "err", err, "retry_in", wait)
		case status.Code(err) == codes.ResourceExhausted:
			wait = budgetBackoff/2 + rand.N(budgetBackoff/2+1)
			c.Logger.Warn("the server refuses more events from this device for now (over its budget); the events are kept and sent later",
				"err", err, "retry_in", wait.Round(time.Second))
		case serverRebalanced(err):
			// Not a failure: reconnect now, to whichever replica.
			wait = rand.N(250 * time.Millisecond)
			backoff = time.Second / 2 // doubled below
			c.Logger.Info("server ended the connection (rebalancing or restart); reconnecting", "reason", status.Convert(err).Message())
		default:
			c.Logger.Warn("stream to server ended; reconnecting", "err", err, "in", wait)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// maxBatchBytes bounds the encoded events of one batch, well below the 4
// MiB a gRPC server accepts in one message by default: a batch of large
// events (inventories) over it would be refused with ResourceExhausted
// every time it is sent, and the events behind it would never leave.
const maxBatchBytes = 1 << 20

// capBatch returns the longest prefix of batch whose events encode to at
// most max bytes, and at least its first event (the outbox keeps no event
// above its 1 MiB record limit).
func capBatch(batch []*vcguardv1.Event, max int) []*vcguardv1.Event {
	total := 0
	for i, e := range batch {
		total += proto.Size(e)
		if total > max && i > 0 {
			return batch[:i]
		}
	}
	return batch
}

// budgetBackoff is how long an agent waits after the server refused its
// stream for a budget (ResourceExhausted: the device stored its day's
// bytes of events): reconnecting every minute would only cost the server
// a connect each time. The events stay in the outbox.
const budgetBackoff = 10 * time.Minute

// serverRebalanced reports whether a stream ended because the server
// closed the connection on purpose: a GOAWAY at its maximum connection age,
// or a graceful shutdown.
func serverRebalanced(err error) bool {
	if status.Code(err) != codes.Unavailable {
		return false
	}
	msg := strings.ToLower(status.Convert(err).Message())
	return strings.Contains(msg, "goaway") || strings.Contains(msg, "max_age") || strings.Contains(msg, "shutting down")
}

func (c *Client) credentials() (credentials.TransportCredentials, error) {
	pair, err := loadCertificate(c.StateDir)
	if err != nil {
		return nil, err
	}
	c.cert.Store(pair)
	caPEM, err := os.ReadFile(filepath.Join(c.StateDir, caFile))
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("the stored CA holds no certificate")
	}
	c.roots = pool
	return credentials.NewTLS(&tls.Config{
		MinVersion: tls.VersionTLS13, RootCAs: pool,
		// Each new connection presents the newest (renewed) certificate.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c.cert.Load(), nil },
		ServerName:           serverName(c.Identity.Server),
	}), nil
}

// stream runs one stream: hello, then sending pending events as they come
// and receiving acks and policies, until an error.
func (c *Client) stream(ctx context.Context, api vcguardv1.AgentServiceClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := api.Connect(ctx)
	if err != nil {
		return err
	}
	hello := c.Hello()
	if err := s.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Hello{Hello: hello}}); err != nil {
		return err
	}
	// The catalog version the server knows from this stream.
	reportedCatalog := hello.GetCatalogVersion()
	// The server answers a hello with the last sequence number it stored.
	acks := make(chan uint64, 16)
	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := s.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			switch m := m.GetMsg().(type) {
			case *vcguardv1.ServerMessage_Ack:
				select {
				case acks <- m.Ack.GetSeq():
				case <-ctx.Done():
					return
				}
			case *vcguardv1.ServerMessage_Policy:
				c.OnPolicy(m.Policy.GetPolicy())
			case *vcguardv1.ServerMessage_Catalog:
				if c.OnCatalog != nil {
					c.OnCatalog(m.Catalog.GetCatalog())
				}
			case *vcguardv1.ServerMessage_Group:
				c.setGroup(m.Group.GetGroup())
			}
		}
	}()

	batchSize := c.BatchSize
	if batchSize <= 0 {
		batchSize = 200
	}
	heartbeat := c.Heartbeat
	if heartbeat <= 0 {
		heartbeat = 30 * time.Second
	}
	hb := time.NewTicker(heartbeat)
	defer hb.Stop()

	connected := false
	var sent uint64 // highest sequence number sent on this stream
	inFlight := false
	sendMore := func() error {
		if inFlight {
			return nil
		}
		batch := capBatch(c.Outbox.Pending(sent, batchSize), maxBatchBytes)
		if len(batch) == 0 {
			return nil
		}
		if err := s.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Batch{Batch: &vcguardv1.EventBatch{Events: batch}}}); err != nil {
			return err
		}
		sent = batch[len(batch)-1].GetSeq()
		inFlight = true
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			// The receiver may have ended on ctx without a word (it stops
			// when ctx ends while it hands over an ack): without this case
			// a shutdown could wait here for ever (seen: the agent did not
			// stop within 10 s of SIGTERM).
			return ctx.Err()
		case err := <-recvErr:
			return err
		case seq := <-acks:
			if !connected {
				connected = true
				c.Logger.Info("connected to server", "server", c.Identity.Server, "device", c.Identity.DeviceID)
				sent = seq
			}
			if err := c.Outbox.Ack(seq); err != nil {
				return err
			}
			if seq >= sent {
				inFlight = false
			}
			if err := sendMore(); err != nil {
				return err
			}
		case <-c.Outbox.Notify():
			if connected {
				if err := sendMore(); err != nil {
					return err
				}
			}
		case <-c.CatalogChanged:
			// A nil channel never fires; reported once connected, as
			// the hello carried the version before.
			if c.CatalogVersion != nil {
				if v := c.CatalogVersion(); v > reportedCatalog {
					if err := s.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Catalog{Catalog: &vcguardv1.CatalogStatus{Version: v}}}); err != nil {
						return err
					}
					reportedCatalog = v
				}
			}
		case <-hb.C:
			if err := s.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Heartbeat{Heartbeat: &vcguardv1.Heartbeat{Time: timestamppb.Now()}}}); err != nil {
				return err
			}
		}
	}
}

// refusedFor reports whether the server refused with PermissionDenied and an
// ErrorInfo of the vcguard.eu domain with reason (DEVICE_REVOKED,
// CERT_REPLACED), as server/agentapi sends it.
func refusedFor(err error, reason string) bool {
	st := status.Convert(err)
	if st.Code() != codes.PermissionDenied {
		return false
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == "vcguard.eu" && info.GetReason() == reason {
			return true
		}
	}
	return false
}
