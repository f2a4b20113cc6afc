package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestHostileConnections: the server's connection-level bounds against
// hostile clients on loopback, each from its own 127.x address, while a
// well-behaved agent (from 127.0.0.1) enrolls and connects:
//   - a source address holding --max-conns-per-addr connections has its next
//     one closed at once;
//   - a connection that never handshakes is closed after --handshake-timeout;
//   - a second Connect with one device certificate ends the first (Aborted);
//   - an Enroll flood from one address gets ResourceExhausted while another
//     address still enrolls, and the wrong-secret lines are sampled;
//   - every refusal shows in vcguard_refused_total with its reason.
func TestHostileConnections(t *testing.T) {
	t.Parallel()
	const perAddr, handshake = 3, 2 * time.Second
	root := t.TempDir()
	var s *server
	var metricsAddr string
	for attempt := 0; ; attempt++ {
		metricsAddr = freeAddr(t)
		var err error
		s, err = tryStartServer(t, filepath.Join(root, "data"), freeAddr(t), freeAddr(t), "--metrics-addr", metricsAddr,
			"--max-conns-per-addr", "3", "--handshake-timeout", handshake.String())
		if errors.Is(err, errPortTaken) && attempt < 5 {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	caPEM, err := os.ReadFile(filepath.Join(s.data, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	secretBytes, err := os.ReadFile(filepath.Join(s.data, "enroll-secret"))
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(string(secretBytes))

	// dialFrom opens a gRPC client from a loopback address of its own.
	dialFrom := func(local string, cert *tls.Certificate) *grpc.ClientConn {
		t.Helper()
		conf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
		if cert != nil {
			conf.Certificates = []tls.Certificate{*cert}
		}
		cc, err := grpc.NewClient("passthrough:///"+s.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(conf)),
			grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
				return d.DialContext(ctx, "tcp", addr)
			}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		return cc
	}
	rawFrom := func(local string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", s.grpcAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closedWithin reads until the server closes c and returns how long it took.
	closedWithin := func(c net.Conn, limit time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		c.SetReadDeadline(start.Add(limit))
		_, err := io.Copy(io.Discard, c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection from %s still open after %s", c.LocalAddr(), limit)
		}
		return time.Since(start)
	}
	enroll := func(cc *grpc.ClientConn, secret string) (*tls.Certificate, error) {
		t.Helper()
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "hostile"}}, key)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		resp, err := vcguardv1.NewAgentServiceClient(cc).Enroll(ctx, &vcguardv1.EnrollRequest{EnrollSecret: secret, CsrDer: csr,
			Device: &vcguardv1.DeviceInfo{Hostname: "hostile", Os: "linux"}})
		if err != nil {
			return nil, err
		}
		cert, err := tls.X509KeyPair([]byte(resp.GetClientCertPem()), pemKey(t, key))
		if err != nil {
			t.Fatal(err)
		}
		return &cert, nil
	}

	// 1. Per-address cap: 127.0.0.2 holds three TLS connections; its
	// fourth is closed at once, and the agent from 127.0.0.1 is unaffected.
	for i := range perAddr {
		cc := dialFrom("127.0.0.2", nil)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatalf("connection %d from 127.0.0.2: %v", i+1, err)
		}
		cancel()
	}
	if d := closedWithin(rawFrom("127.0.0.2"), 5*time.Second); d > time.Second {
		t.Errorf("the connection over the per-address cap was closed after %s, want at once", d)
	}
	startAgent(t, s, filepath.Join(t.TempDir(), "agent"))
	waitFor(t, 30*time.Second, "the well-behaved agent enrolled and online", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].Online
	})

	// 2. Handshake timeout: a connection that sends nothing is closed.
	if d := closedWithin(rawFrom("127.0.0.3"), 4*handshake); d < handshake/2 {
		t.Errorf("the silent connection was closed after %s, before the %s handshake timeout", d, handshake)
	} else {
		t.Logf("a silent connection was closed after %s (--handshake-timeout %s)", d.Round(time.Millisecond), handshake)
	}

	// 3. One live stream per device: a second Connect ends the first.
	cert, err := enroll(dialFrom("127.0.0.4", nil), secret)
	if err != nil {
		t.Fatalf("enroll from 127.0.0.4: %v", err)
	}
	connect := func() vcguardv1.AgentService_ConnectClient {
		t.Helper()
		stream, err := vcguardv1.NewAgentServiceClient(dialFrom("127.0.0.4", cert)).Connect(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Hello{Hello: &vcguardv1.Hello{
			Device: &vcguardv1.DeviceInfo{Hostname: "hostile", Os: "linux"}}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil { // the first ack: the stream is live
			t.Fatalf("first message on the stream: %v", err)
		}
		return stream
	}
	first := connect()
	connect()
	for {
		_, err := first.Recv()
		if err == nil {
			continue // a policy push
		}
		if status.Code(err) != codes.Aborted || !strings.Contains(err.Error(), "replaced by a newer connection") {
			t.Errorf("the first stream ended with %v, want Aborted (replaced)", err)
		}
		break
	}

	// 4. Enroll flood from 127.0.0.5 with a wrong secret, 100 calls at once
	// over the 3 connections the address may hold (a refusal is answered
	// after a second, so a flood comes in parallel): beyond its burst and
	// rate the address is refused; 127.0.0.6 still enrolls with the real
	// one.
	floodStart := time.Now()
	var conns []*grpc.ClientConn
	for range 3 {
		conns = append(conns, dialFrom("127.0.0.5", nil))
	}
	codesOf := make(chan codes.Code, 100)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			_, err := enroll(conns[i%len(conns)], "wrong-secret")
			codesOf <- status.Code(err)
		})
	}
	wg.Wait()
	close(codesOf)
	var denied, exhausted int
	for c := range codesOf {
		switch c {
		case codes.PermissionDenied:
			denied++
		case codes.ResourceExhausted:
			exhausted++
		default:
			t.Errorf("a wrong-secret enrollment: %v", c)
		}
	}
	t.Logf("enroll flood of 100 from one address: %d denied (wrong secret), %d ResourceExhausted", denied, exhausted)
	// The bucket lets through its burst (30) and 2 a second while the
	// flood lasts; everything else must have been refused.
	allowed := 30 + int(2*time.Since(floodStart).Seconds()) + 2
	if exhausted < 100-allowed {
		t.Errorf("only %d of 100 flood enrollments were throttled; the bucket allows at most %d in %s",
			exhausted, allowed, time.Since(floodStart).Round(time.Second))
	}
	if _, err := enroll(dialFrom("127.0.0.6", nil), secret); err != nil {
		t.Errorf("enrollment from another address during the flood: %v", err)
	}
	if n := strings.Count(readFile(s.proc.log), "enrollment refused: unknown"); n > 2 {
		t.Errorf("%d wrong-secret lines logged for %d refusals, want them sampled", n, denied)
	}

	m := scrapeMetrics(t, metricsAddr)
	for name, min := range map[string]float64{
		`vcguard_refused_total{reason="conns_per_addr"}`:   1,
		`vcguard_refused_total{reason="enroll_rate_addr"}`: float64(exhausted),
		"vcguard_streams_replaced_total":                   1,
	} {
		if got := sum(m, name); got < min {
			t.Errorf("%s = %v, want at least %v", name, got, min)
		}
	}
}

// pemKey encodes a private key as PKCS#8 PEM.
func pemKey(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
