package agentapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/agentapi"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/pki"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// testServer is a real agent API on a TLS gRPC listener, over the admin
// API's test environment (SQLite store, fan-out hub, policy key).
type testServer struct {
	env     *adminapitest.Env
	ca      *pki.Authority
	agents  *agentapi.Server
	addr    string
	secret  string
	stopped chan struct{}
}

func newTestServer(t *testing.T, m *metrics.Metrics, now func() time.Time) *testServer {
	t.Helper()
	env := adminapitest.New(t)
	env.Service.Metrics = m
	ca, err := pki.LoadOrCreate(t.TempDir(), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := env.Service.CreateEnrollmentSecret(t.Context(), admin.SystemActor, admin.SecretSpec{Description: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{env: env, ca: ca, secret: secret, stopped: make(chan struct{}),
		agents: &agentapi.Server{Store: env.Store, CA: ca, PolicyKey: env.PolicyKey, Hub: env.Hub,
			Logger: slog.New(slog.DiscardHandler), Metrics: m, Now: now}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = lis.Addr().String()
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(ca.ServerTLS())))
	vcguardv1.RegisterAgentServiceServer(gs, s.agents)
	go func() { defer close(s.stopped); _ = gs.Serve(lis) }()
	t.Cleanup(func() { gs.Stop(); <-s.stopped })
	return s
}

// dial connects to the agent API, with a client certificate when given.
func (s *testServer) dial(t *testing.T, cert *tls.Certificate) vcguardv1.AgentServiceClient {
	t.Helper()
	cfg := &tls.Config{RootCAs: s.ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return vcguardv1.NewAgentServiceClient(conn)
}

// enroll enrolls a device as an agent does and returns its id and
// client certificate.
func (s *testServer) enroll(t *testing.T) (string, *tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.dial(t, nil).Enroll(t.Context(), &vcguardv1.EnrollRequest{
		EnrollSecret: s.secret, CsrDer: csr, Device: &vcguardv1.DeviceInfo{Hostname: "laptop-1", Os: "linux"},
	})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(resp.GetClientCertPem(), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetDeviceId(), &cert
}

// connect opens the stream, says hello on policy version 1 and reads the
// greeting: the first acknowledgement, then the device's group, which ends
// it.
func (s *testServer) connect(t *testing.T, ctx context.Context, cert *tls.Certificate) vcguardv1.AgentService_ConnectClient {
	t.Helper()
	stream, err := s.dial(t, cert).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Hello{Hello: &vcguardv1.Hello{
		Device: &vcguardv1.DeviceInfo{Hostname: "laptop-1", Os: "linux"}, PolicyVersion: 1,
	}}}); err != nil {
		t.Fatal(err)
	}
	if m, err := stream.Recv(); err != nil || m.GetAck() == nil {
		t.Fatalf("first message: %v, %v; want an ack", m, err)
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("greeting: %v; want the device's group", err)
		}
		if m.GetGroup() != nil {
			return stream
		}
	}
}

func batch(events ...*vcguardv1.Event) *vcguardv1.AgentMessage {
	return &vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Batch{Batch: &vcguardv1.EventBatch{Events: events}}}
}

func appStarted(seq uint64) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.Now(), Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{
		Kind: vcguardv1.AppEvent_KIND_STARTED,
		App:  &vcguardv1.AppInstance{AppId: "zoom", Name: "Zoom", Pid: int32(1000 + seq), Exe: "/usr/bin/zoom", Started: timestamppb.Now()},
	}}}
}

func cameraOn(seq uint64) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.Now(), Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{
		On: true, Use: &vcguardv1.MediaUse{Kind: "camera", Device: "/dev/video0", Pid: 1001, Process: "/usr/bin/zoom", Source: "test"},
	}}}
}

// sendBatch sends events and waits for their acknowledgement.
func sendBatch(t *testing.T, stream vcguardv1.AgentService_ConnectClient, events ...*vcguardv1.Event) {
	t.Helper()
	if err := stream.Send(batch(events...)); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("waiting for the ack: %v", err)
		}
		if ack := m.GetAck(); ack != nil {
			if want := events[len(events)-1].GetSeq(); ack.GetSeq() != want {
				t.Fatalf("ack %d, want %d", ack.GetSeq(), want)
			}
			return
		}
	}
}

// scrape reads the metrics as Prometheus does, parsing the text format.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the text format: %v", err)
	}
	return families
}

// value returns the value of the series of name with the given labels
// (a counter's or gauge's value, a histogram's sample count), and whether
// it exists.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f, ok := families[name]
	if !ok {
		return 0, false
	}
series:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
			}
			if !found {
				continue series
			}
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetrics drives a real agent stream and checks what a Prometheus
// scrape sees: connections, events by type (a resent batch not counted
// twice), enrollments by result, store latency and policy push latency.
func TestMetrics(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	s := newTestServer(t, m, nil)

	// A wrong secret is refused and counted.
	bad := *s
	bad.secret = "vcg_enroll_wrong"
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	_, err := bad.dial(t, nil).Enroll(t.Context(), &vcguardv1.EnrollRequest{
		EnrollSecret: bad.secret, CsrDer: csr, Device: &vcguardv1.DeviceInfo{Hostname: "x", Os: "linux"}})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("enroll with a wrong secret: %v, want PermissionDenied", err)
	}
	_, cert := s.enroll(t)

	ctx, cancel := context.WithCancel(t.Context())
	stream := s.connect(t, ctx, cert)
	sendBatch(t, stream, appStarted(1), appStarted(2), cameraOn(3))
	sendBatch(t, stream, appStarted(2), cameraOn(3)) // resent after a lost ack: stored once
	sendBatch(t, stream, appStarted(4))

	// A policy published now is pushed on the stream.
	doc := []byte("name: Zoom forbidden\napps:\n  zoom: {status: forbidden}\n")
	if _, err := s.env.Service.PublishPolicy(t.Context(), admin.SystemActor, doc, "test"); err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if msg.GetPolicy() != nil {
			break
		}
	}

	f := scrape(t, m)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"vcguard_agents_connected", nil, 1},
		{"vcguard_events_ingested_total", []string{"type", "app_started"}, 3},
		{"vcguard_events_ingested_total", []string{"type", "camera_on"}, 1},
		{"vcguard_enrollments_total", []string{"result", "ok"}, 1},
		{"vcguard_enrollments_total", []string{"result", "denied"}, 1},
		{"vcguard_enrollments_total", []string{"result", "error"}, 0},
		{"vcguard_store_seconds", []string{"op", "ingest"}, 3},
		{"vcguard_store_seconds", []string{"op", "publish"}, 1},
		{"vcguard_store_seconds", []string{"op", "device_connected"}, 1},
		{"vcguard_policy_push_seconds", nil, 1},
	} {
		got, ok := value(f, c.name, c.labels...)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := f["go_goroutines"]; !ok {
		t.Error("the Go runtime collector is missing")
	}

	// The gauge drops when the agent goes away.
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got, _ := value(scrape(t, m), "vcguard_agents_connected"); got == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("vcguard_agents_connected stays above 0 after the stream ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestShutdownFinishesInFlightBatch: a batch being stored when Shutdown is
// called is stored and acknowledged, then the stream ends with Unavailable
// so the agent reconnects; nothing acknowledged is lost.
func TestShutdownFinishesInFlightBatch(t *testing.T) {
	t.Parallel()
	var armed atomic.Bool
	inIngest, release := make(chan struct{}), make(chan struct{})
	// The agent API reads the clock right before it stores a batch: once
	// armed, the clock holds the batch there until the test releases it.
	now := func() time.Time {
		if armed.CompareAndSwap(true, false) {
			close(inIngest)
			<-release
		}
		return time.Now()
	}
	s := newTestServer(t, nil, now)
	deviceID, cert := s.enroll(t)
	stream := s.connect(t, t.Context(), cert)
	sendBatch(t, stream, appStarted(1))

	armed.Store(true)
	if err := stream.Send(batch(appStarted(2), appStarted(3))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-inIngest:
	case <-time.After(10 * time.Second):
		t.Fatal("the batch never reached the store")
	}
	shutdownDone := make(chan struct{})
	go func() { s.agents.Shutdown(); close(shutdownDone) }()
	<-shutdownDone // Shutdown does not wait for streams; GracefulStop does
	close(release)

	var acked uint64
	for {
		msg, err := stream.Recv()
		if err != nil {
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("stream ended with %v, want Unavailable", err)
			}
			break
		}
		if ack := msg.GetAck(); ack != nil {
			acked = ack.GetSeq()
		}
	}
	if acked != 3 {
		t.Errorf("last ack %d, want 3: the in-flight batch was not finished", acked)
	}
	events, err := s.env.Store.Events(t.Context(), store.EventFilter{DeviceID: deviceID})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 {
		t.Errorf("%d events stored, want 3", len(events))
	}
	// A new stream is refused while the server shuts down.
	if _, err := s.connect2(t, cert); status.Code(err) != codes.Unavailable {
		t.Errorf("a stream opened after Shutdown: %v, want Unavailable", err)
	}
}

// connect2 opens a stream and reports how it ends after the hello.
func (s *testServer) connect2(t *testing.T, cert *tls.Certificate) (*vcguardv1.ServerMessage, error) {
	stream, err := s.dial(t, cert).Connect(t.Context())
	if err != nil {
		return nil, err
	}
	// A stream the server already ended makes Send return io.EOF; the
	// status comes from Recv below.
	if err := stream.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Hello{Hello: &vcguardv1.Hello{PolicyVersion: 1, Device: &vcguardv1.DeviceInfo{Hostname: "laptop-1", Os: "linux"}}}}); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	for {
		if _, err := stream.Recv(); err != nil {
			return nil, err
		}
	}
}

// Renew issues a new certificate to the device its current one names;
// from then on only the new one is accepted, on Connect and Renew, so a
// copy of the old key and certificate is worth nothing.
func TestRenewReplacesCertificate(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil, nil)
	id, old := s.enroll(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.dial(t, nil).Renew(t.Context(), &vcguardv1.RenewRequest{CsrDer: csr}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("Renew without a certificate: %v, want Unauthenticated", err)
	}
	resp, err := s.dial(t, old).Renew(t.Context(), &vcguardv1.RenewRequest{CsrDer: csr})
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	renewed, err := tls.X509KeyPair(resp.GetClientCertPem(), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(renewed.Certificate[0])
	if leaf.Subject.CommonName != id {
		t.Errorf("renewed certificate names %q, want the device %q", leaf.Subject.CommonName, id)
	}
	// The new one works; the old one is refused, for a stream and for
	// another renewal.
	stream := s.connect(t, t.Context(), &renewed)
	stream.CloseSend()
	st, err := s.dial(t, old).Connect(t.Context())
	if err == nil {
		st.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Hello{Hello: &vcguardv1.Hello{Device: &vcguardv1.DeviceInfo{Hostname: "x"}}}})
		_, err = st.Recv()
	}
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "replaced by a renewal") {
		t.Errorf("Connect with the replaced certificate: %v, want PermissionDenied naming the renewal", err)
	}
	wantRefusal(t, "Connect with the replaced certificate", err, agentapi.ReasonCertReplaced, agentapi.ReplacedMessage)
	if _, err := s.dial(t, old).Renew(t.Context(), &vcguardv1.RenewRequest{CsrDer: csr}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("Renew with the replaced certificate: %v, want PermissionDenied", err)
	} else {
		wantRefusal(t, "Renew with the replaced certificate", err, agentapi.ReasonCertReplaced, agentapi.ReplacedMessage)
	}
}

// Device fields an agent sends are bounded, before anything is logged or
// stored.
func TestEnrollRefusesOversizedDeviceFields(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil, nil)
	_, err := s.dial(t, nil).Enroll(t.Context(), &vcguardv1.EnrollRequest{
		EnrollSecret: s.secret, CsrDer: []byte("x"), Device: &vcguardv1.DeviceInfo{Hostname: strings.Repeat("h", 300), Os: "linux"},
	})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "device.hostname is 300 bytes") {
		t.Errorf("Enroll with a 300-byte hostname: %v", err)
	}
}
