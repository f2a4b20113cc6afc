package agentapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/agentapi"
	"github.com/vcguard/vcguard/server/metrics"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// newerCatalog is the embedded catalog with one more tool, under the
// embedded version plus add.
func newerCatalog(t *testing.T, add uint64) []byte {
	t.Helper()
	b, err := policies.EmbeddedCatalogBundle()
	if err != nil {
		t.Fatal(err)
	}
	b.Version += add
	b.Files = append(b.Files, policies.CatalogFile{Name: "zz-new-tool.yaml", Content: "app_id: zz-new-tool\nname: New Tool\nvendor: Test\ncategory: browser\nidentify:\n  linux:\n    executables: [zz-new-tool]\n"})
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// recvCatalog reads messages until a catalog update (acks may come
// first) and checks its signature with the pinned key.
func recvCatalog(t *testing.T, s *testServer, stream vcguardv1.AgentService_ConnectClient) *vcguardv1.SignedCatalog {
	t.Helper()
	for {
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("waiting for a catalog: %v", err)
		}
		if c := m.GetCatalog().GetCatalog(); c != nil {
			if _, _, err := policies.OpenSignedCatalog(s.env.PolicyKey, c.GetVersion(), c.GetBundle(), c.GetSignature()); err != nil {
				t.Fatalf("pushed catalog does not open: %v", err)
			}
			return c
		}
		if m.GetPolicy() != nil {
			t.Fatalf("a policy before the catalog: %v", m)
		}
	}
}

func hello(catalog uint64) *vcguardv1.AgentMessage {
	return &vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Hello{Hello: &vcguardv1.Hello{
		Device: &vcguardv1.DeviceInfo{Hostname: "laptop-1", Os: "linux"}, PolicyVersion: 1, CatalogVersion: catalog,
	}}}
}

// TestCatalogPush: an agent on an older catalog is sent the newest at
// connect, before any policy; a version published while it is connected is
// pushed; its reported version is stored; an agent reporting no catalog
// version (older than catalog updates) is sent none.
func TestCatalogPush(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	s := newTestServer(t, m, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	embedded, err := policies.EmbeddedCatalogVersion()
	if err != nil {
		t.Fatal(err)
	}
	id, cert := s.enroll(t)
	v1, err := s.env.Service.PublishCatalog(ctx, admin.Actor{Subject: "alice"}, newerCatalog(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != embedded+1 {
		t.Fatalf("published version %d, want %d", v1.Version, embedded+1)
	}
	// The same version again, and an older one: refused.
	for _, add := range []uint64{1, 0} {
		if _, err := s.env.Service.PublishCatalog(ctx, admin.Actor{Subject: "alice"}, newerCatalog(t, add)); !errors.Is(err, admin.ErrCatalogNotNewer) {
			t.Fatalf("publish +%d again: %v, want ErrCatalogNotNewer", add, err)
		}
	}

	stream, err := s.dial(t, cert).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(hello(embedded)); err != nil {
		t.Fatal(err)
	}
	if c := recvCatalog(t, s, stream); c.GetVersion() != embedded+1 {
		t.Fatalf("catalog at connect: version %d, want %d", c.GetVersion(), embedded+1)
	}
	waitFor(t, "the device's reported catalog version", func() bool {
		d, err := s.env.Store.DeviceRecord(ctx, id)
		return err == nil && d.CatalogVersion == embedded
	})
	// The agent accepts it and says so.
	if err := stream.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Catalog{Catalog: &vcguardv1.CatalogStatus{Version: embedded + 1}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the device's new catalog version", func() bool {
		d, err := s.env.Store.DeviceRecord(ctx, id)
		return err == nil && d.CatalogVersion == embedded+1
	})
	dv, err := s.env.Service.Device(ctx, id)
	if err != nil || dv.CatalogVersion != embedded+1 {
		t.Fatalf("device view catalog version = %d, %v", dv.CatalogVersion, err)
	}
	// Published while connected: pushed.
	if _, err := s.env.Service.PublishCatalog(ctx, admin.Actor{Subject: "alice"}, newerCatalog(t, 2)); err != nil {
		t.Fatal(err)
	}
	if c := recvCatalog(t, s, stream); c.GetVersion() != embedded+2 {
		t.Fatalf("pushed catalog: version %d, want %d", c.GetVersion(), embedded+2)
	}
	// A report going backwards is refused.
	if err := stream.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Catalog{Catalog: &vcguardv1.CatalogStatus{Version: 1}}}); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := stream.Recv()
		if err != nil {
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "not above") {
				t.Fatalf("backwards catalog status: %v", err)
			}
			break
		}
	}
	if n, _ := value(scrape(t, m), "vcguard_refused_total", "reason", agentapi.ReasonCatalogStatus); n != 1 {
		t.Errorf("refused catalog status counted %v times, want 1", n)
	}

	// An agent older than catalog updates gets none.
	old := s.connect(t, ctx, cert) // hello without catalog_version
	if _, err := s.env.Service.PublishCatalog(ctx, admin.Actor{Subject: "alice"}, newerCatalog(t, 3)); err != nil {
		t.Fatal(err)
	}
	if err := old.Send(&vcguardv1.AgentMessage{Msg: &vcguardv1.AgentMessage_Heartbeat{Heartbeat: &vcguardv1.Heartbeat{}}}); err != nil {
		t.Fatal(err)
	}
	if err := old.CloseSend(); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := old.Recv()
		if err != nil {
			break
		}
		if m.GetCatalog() != nil {
			t.Fatal("a catalog sent to an agent that reports no catalog version")
		}
	}
}

// TestCatalogPublishChecks: a bundle whose entry does not load is refused
// naming file and line; a catalog that drops an app the current policy
// names is refused.
func TestCatalogPublishChecks(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, nil, nil)
	ctx := t.Context()
	b, err := policies.EmbeddedCatalogBundle()
	if err != nil {
		t.Fatal(err)
	}
	b.Version++
	broken := *b
	broken.Files = append([]policies.CatalogFile{{Name: "aaa.yaml", Content: "app_id: aaa\nname: A\nvendor: V\ncategory: nonsense\nidentify:\n  linux:\n    executables: [aaa]\n"}}, b.Files...)
	data, err := broken.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.env.Service.PublishCatalog(ctx, admin.Actor{Subject: "alice"}, data); !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), "aaa.yaml:4: field category") {
		t.Fatalf("broken entry: %v", err)
	}
	// eu-default (the current policy) names teamviewer; a multi-service
	// host (ferdium) embeds zoom.
	without := func(name string) []byte {
		dropped := *b
		dropped.Files = nil
		for _, f := range b.Files {
			if f.Name != name {
				dropped.Files = append(dropped.Files, f)
			}
		}
		data, err := dropped.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	if _, err := s.env.Service.PublishCatalog(ctx, admin.Actor{Subject: "alice"}, without("teamviewer.yaml")); !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), "current policy does not validate") {
		t.Fatalf("catalog without teamviewer: %v", err)
	}
	if _, err := s.env.Service.PublishCatalog(ctx, admin.Actor{Subject: "alice"}, without("zoom.yaml")); !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), `ferdium.yaml: embeds: "zoom" is no app of the catalog`) {
		t.Fatalf("catalog without zoom: %v", err)
	}
	if v, _ := s.env.Store.CurrentCatalogVersion(ctx); v != b.Version-1 {
		t.Fatalf("current catalog version %d after refusals, want %d", v, b.Version-1)
	}
	// A policy naming a tool only the newest catalog knows is accepted once
	// it is published.
	doc := []byte("name: New tool\ndefault: forbidden\napps:\n  zz-new-tool:\n    status: approved\n")
	if _, err := s.env.Service.ValidatePolicy(doc); err == nil {
		t.Fatal("a policy naming an unknown app validated")
	}
	if _, err := s.env.Service.PublishCatalog(ctx, admin.Actor{Subject: "alice"}, newerCatalog(t, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.env.Service.ValidatePolicy(doc); err != nil {
		t.Fatalf("a policy naming the new app: %v", err)
	}
}

// waitFor polls cond (a store read) until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
