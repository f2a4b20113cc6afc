package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// protoAgent is a device enrolled by the test itself, speaking the agent
// protocol directly: the hostile client of the hostile_* tests.
type protoAgent struct {
	id   string
	cert tls.Certificate
	pool *x509.CertPool
}

// newHostileServer starts a server in a new data directory with extra flags,
// retrying on a port taken meanwhile.
func newHostileServer(t *testing.T, extra ...string) *server {
	t.Helper()
	return newServerIn(t, t.TempDir(), "data", extra...)
}

// enrollProto enrolls a device under hostname with s's enrollment secret.
func enrollProto(t *testing.T, s *server, hostname string) *protoAgent {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(s.data, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	secret, err := os.ReadFile(filepath.Join(s.data, "enroll-secret"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	a := &protoAgent{pool: pool}
	resp, err := a.client(t, s, false).Enroll(t.Context(), &vcguardv1.EnrollRequest{
		EnrollSecret: strings.TrimSpace(string(secret)), CsrDer: csr,
		Device: &vcguardv1.DeviceInfo{Hostname: hostname, Os: "linux", AgentVersion: "hostile-test"},
	})
	if err != nil {
		t.Fatalf("enroll %s: %v", hostname, err)
	}
	cert, err := tls.X509KeyPair(resp.GetClientCertPem(), pemKey(t, key))
	if err != nil {
		t.Fatal(err)
	}
	a.id, a.cert = resp.GetDeviceId(), cert
	return a
}

// client dials s, presenting the device certificate when withCert.
func (a *protoAgent) client(t *testing.T, s *server, withCert bool) vcguardv1.AgentServiceClient {
	t.Helper()
	conf := &tls.Config{RootCAs: a.pool, MinVersion: tls.VersionTLS13}
	if withCert {
		conf.Certificates = []tls.Certificate{a.cert}
	}
	cc, err := grpc.NewClient("passthrough:///"+s.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(conf)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return vcguardv1.NewAgentServiceClient(cc)
}

// connect opens a stream to s, says hello as hostname and returns it with
// the server's first acknowledgement (the last sequence number stored).
func (a *protoAgent) connect(ctx context.Context, t *testing.T, s *server, hostname string) (vcguardv1.AgentService_ConnectClient, uint64, error) {
	t.Helper()
	stream, err := a.client(t, s, true).Connect(ctx)
	if err != nil {
		return nil, 0, err
	}
	if err := stream.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Hello{Hello: &vcguardv1.Hello{
		Device: &vcguardv1.DeviceInfo{Hostname: hostname, Os: "linux", AgentVersion: "hostile-test"}}}}); err != nil {
		return nil, 0, err
	}
	m, err := stream.Recv()
	if err != nil {
		return nil, 0, err
	}
	if m.GetAck() == nil {
		return nil, 0, errors.New("the first message is not an ack")
	}
	return stream, m.GetAck().GetSeq(), nil
}

// sendBatchAck sends events and waits for the acknowledgement of the
// last one, skipping policy pushes.
func sendBatchAck(stream vcguardv1.AgentService_ConnectClient, events []*vcguardv1.Event) (uint64, error) {
	if err := stream.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Batch{Batch: &vcguardv1.EventBatch{Events: events}}}); err != nil {
		return 0, err
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			return 0, err
		}
		if ack := m.GetAck(); ack != nil {
			return ack.GetSeq(), nil
		}
	}
}

// streamEnd reads a stream until the server ends it and returns why.
func streamEnd(stream vcguardv1.AgentService_ConnectClient) error {
	for {
		if _, err := stream.Recv(); err != nil {
			return err
		}
	}
}

type protoEvent = vcguardv1.Event

// policyApplied is the smallest event.
func policyApplied(seq uint64) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.Now(),
		Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: 1}}}
}

// hostileAppStarted is an app_started event of a new process pid.
func hostileAppStarted(seq uint64, pid int32, pad int) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.Now(), Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{
		Kind: vcguardv1.AppEvent_KIND_STARTED,
		App: &vcguardv1.AppInstance{AppId: "zoom", Name: "Zoom", Pid: pid, Started: timestamppb.Now(),
			Exe: "/usr/bin/zoom", Identity: strings.Repeat("p", pad), Verdict: vcguardv1.Verdict_VERDICT_APPROVED}}}}
}

// reportsDuringAttack proves that a well-behaved agent keeps reporting:
// a look-alike zoom started now shows on the agent's device within
// timeout.
func reportsDuringAttack(t *testing.T, s *server, agentID string, timeout time.Duration) {
	t.Helper()
	app := startFakeApp(t, "zoom")
	waitFor(t, timeout, "the well-behaved agent to report a new app during the attack", func() bool {
		d := s.device(t, agentID)
		for _, a := range d.Apps {
			if a.PID == app.pid() && a.Running {
				return true
			}
		}
		return false
	})
}

// startWellBehaved starts a real agent against s and returns its device
// id once it is online.
func startWellBehaved(t *testing.T, s *server) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "agent")
	startAgent(t, s, dir)
	var id string
	waitFor(t, 30*time.Second, "the well-behaved agent to connect", func() bool {
		if id == "" {
			data, err := os.ReadFile(filepath.Join(dir, "identity.json"))
			if err != nil {
				return false
			}
			var ident struct {
				DeviceID string `json:"device_id"`
			}
			if json.Unmarshal(data, &ident) != nil || ident.DeviceID == "" {
				return false
			}
			id = ident.DeviceID
		}
		return s.device(t, id).Online
	})
	return id
}
