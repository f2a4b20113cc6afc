//lint:file-ignore SA1019 an agent of the last release sends the deprecated strings, and the server stores them

package agentapi_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/agentapi"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/fanout"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/pki"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// storeBackends opens a store on each backend: SQLite, and PostgreSQL when
// VCGUARD_TEST_POSTGRES names a server (in a schema of its own, dropped
// when the test ends).
func storeBackends(t *testing.T) map[string]func(t *testing.T) *store.Store {
	return map[string]func(t *testing.T) *store.Store{
		"SQLite": func(t *testing.T) *store.Store {
			st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "vcguard.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"Postgres": func(t *testing.T) *store.Store {
			dsn := os.Getenv("VCGUARD_TEST_POSTGRES")
			if dsn == "" {
				t.Skip("VCGUARD_TEST_POSTGRES is not set: set it to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run this test on PostgreSQL")
			}
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			schema := "t_" + strings.ToLower(rand.Text()[:16])
			if _, err := db.ExecContext(t.Context(), `CREATE SCHEMA `+schema); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
			u, err := url.Parse(dsn)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			st, err := store.OpenPostgres(t.Context(), u.String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
}

// newServerOn is newTestServer over a given store, without the admin
// environment.
func newServerOn(t *testing.T, st *store.Store, m *metrics.Metrics) *testServer {
	t.Helper()
	ca, err := pki.LoadOrCreate(t.TempDir(), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	secret, hash := auth.NewSecret("vcg_enroll_")
	if err := st.CreateEnrollmentSecret(t.Context(), store.EnrollmentSecret{ID: "sec_test", Description: "test", Hash: hash, Created: time.Now()},
		store.AuditEntry{At: time.Now(), Actor: "test", Action: "enrollment_secret_create"}); err != nil {
		t.Fatal(err)
	}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{ca: ca, secret: secret, stopped: make(chan struct{}),
		agents: &agentapi.Server{Store: st, CA: ca, PolicyKey: pub, Hub: &fanout.Hub{}, Logger: slog.New(slog.DiscardHandler), Metrics: m}}
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

func event(seq uint64, detail any) *vcguardv1.Event {
	e := &vcguardv1.Event{Seq: seq, Time: timestamppb.Now()}
	switch d := detail.(type) {
	case *vcguardv1.AppInstance:
		d.Started = timestamppb.Now()
		e.Detail = &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_STARTED, App: d}}
	case *vcguardv1.UserNotified:
		e.Detail = &vcguardv1.Event_UserNotified{UserNotified: d}
	case *vcguardv1.MediaFinding:
		d.Use = &vcguardv1.MediaUse{Kind: "camera", Device: "/dev/video0", Pid: 4242, Process: "/usr/bin/obs", Source: "v4l2"}
		e.Detail = &vcguardv1.Event_MediaFinding{MediaFinding: d}
	case *vcguardv1.Inventory:
		e.Detail = &vcguardv1.Event_Inventory{Inventory: d}
	default:
		panic(fmt.Sprintf("event: no detail for %T", detail))
	}
	return e
}

// TestStreamResolvesDeprecatedFields: events with only the typed actions
// and findings (a new agent), only the deprecated strings (an agent of the
// last release), or both, go through the real stream into the store, on
// SQLite and PostgreSQL, and are stored with both in agreement: the
// strings the dashboard and the API show are what they were. An event
// with a typed value this server does not know is stored as sent and
// acknowledged (refusing it would stop the agent's queue), counted as
// refused once, not again when resent.
func TestStreamResolvesDeprecatedFields(t *testing.T) {
	t.Parallel()
	const (
		unspecified = vcguardv1.Action_ACTION_UNSPECIFIED
		monitor     = vcguardv1.Action_ACTION_MONITOR
		warn        = vcguardv1.Action_ACTION_WARN
		block       = vcguardv1.Action_ACTION_BLOCK
		noKind      = vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNSPECIFIED
		unknownApp  = vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_UNKNOWN_APP
		leftOn      = vcguardv1.MediaFindingKind_MEDIA_FINDING_KIND_LEFT_ON
	)
	type action struct {
		typed  vcguardv1.Action
		legacy string
	}
	cases := []struct {
		name   string
		detail any
		// What is stored: the actions of the event in order, and the
		// finding of a media finding.
		want        []action
		wantKind    vcguardv1.MediaFindingKind
		wantFinding string
		// The detail as the API and dashboard show it holds these.
		wantJSON []string
	}{
		{name: "app, typed only", detail: &vcguardv1.AppInstance{AppId: "zoom", Pid: 1, PolicyAction: warn},
			want: []action{{warn, "warn"}}, wantJSON: []string{`"action":"warn"`, `"policy_action":"ACTION_WARN"`}},
		{name: "app, string only", detail: &vcguardv1.AppInstance{AppId: "skype", Pid: 2, Action: "block"},
			want: []action{{block, "block"}}, wantJSON: []string{`"action":"block"`}},
		{name: "app, both", detail: &vcguardv1.AppInstance{AppId: "teams", Pid: 3, PolicyAction: monitor, Action: "monitor"},
			want: []action{{monitor, "monitor"}}},
		{name: "user notified, typed only", detail: &vcguardv1.UserNotified{AppId: "zoom", Verdict: vcguardv1.Verdict_VERDICT_FORBIDDEN, PolicyAction: block},
			want: []action{{block, "block"}}, wantJSON: []string{`"action":"block"`}},
		{name: "user notified, string only", detail: &vcguardv1.UserNotified{AppId: "zoom", Action: "warn"},
			want: []action{{warn, "warn"}}},
		{name: "user notified, both disagreeing: typed wins", detail: &vcguardv1.UserNotified{AppId: "zoom", PolicyAction: warn, Action: "monitor"},
			want: []action{{warn, "warn"}}},
		{name: "media finding, typed only", detail: &vcguardv1.MediaFinding{Kind: leftOn, PolicyAction: warn},
			want: []action{{warn, "warn"}}, wantKind: leftOn, wantFinding: "left_on", wantJSON: []string{`"finding":"left_on"`, `"action":"warn"`}},
		{name: "media finding, strings only", detail: &vcguardv1.MediaFinding{Finding: "unknown_app", Action: "monitor"},
			want: []action{{monitor, "monitor"}}, wantKind: unknownApp, wantFinding: "unknown_app"},
		{name: "media finding, both", detail: &vcguardv1.MediaFinding{Kind: unknownApp, Finding: "unknown_app", PolicyAction: monitor, Action: "monitor"},
			want: []action{{monitor, "monitor"}}, wantKind: unknownApp, wantFinding: "unknown_app"},
		{name: "inventory, mixed", detail: &vcguardv1.Inventory{Apps: []*vcguardv1.AppInstance{
			{AppId: "zoom", Pid: 10, Started: timestamppb.Now(), PolicyAction: warn},
			{AppId: "teams", Pid: 11, Started: timestamppb.Now(), Action: "monitor"},
		}}, want: []action{{warn, "warn"}, {monitor, "monitor"}}},
		// Unknown to this server: stored as sent, strings beside them kept.
		{name: "media finding, unknown kind and action", detail: &vcguardv1.MediaFinding{Kind: 9, Finding: "screen_shared", PolicyAction: 8, Action: "record"},
			want: []action{{8, "record"}}, wantKind: 9, wantFinding: "screen_shared", wantJSON: []string{`"finding":"screen_shared"`, `"kind":9`}},
		{name: "user notified, unknown action", detail: &vcguardv1.UserNotified{AppId: "zoom", PolicyAction: 7, Action: "warn"},
			want: []action{{7, "warn"}}},
		{name: "app, neither", detail: &vcguardv1.AppInstance{AppId: "jitsi-meet", Pid: 4},
			want: []action{{unspecified, ""}}},
	}
	const unknownEvents = 2

	for name, open := range storeBackends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open(t)
			m := metrics.New()
			s := newServerOn(t, st, m)
			id, cert := s.enroll(t)
			stream := s.connect(t, t.Context(), cert)

			events := make([]*vcguardv1.Event, len(cases))
			for i, c := range cases {
				events[i] = event(uint64(i+1), c.detail)
			}
			sendBatch(t, stream, events...)
			refused := func() float64 {
				n, _ := value(scrape(t, m), "vcguard_refused_total", "reason", agentapi.ReasonEventUnknownValue)
				return n
			}
			if n := refused(); n != unknownEvents {
				t.Errorf("vcguard_refused_total{reason=%q} = %v, want %d", agentapi.ReasonEventUnknownValue, n, unknownEvents)
			}
			// Resent after a lost ack: the same events are not counted again.
			resent := make([]*vcguardv1.Event, len(cases))
			for i, c := range cases {
				resent[i] = event(uint64(i+1), c.detail)
			}
			sendBatch(t, stream, resent...)
			if n := refused(); n != unknownEvents {
				t.Errorf("after the batch was resent: vcguard_refused_total{reason=%q} = %v, want %d", agentapi.ReasonEventUnknownValue, n, unknownEvents)
			}

			stored, err := st.Events(t.Context(), store.EventFilter{DeviceID: id, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != len(cases) {
				t.Fatalf("%d events stored, want %d", len(stored), len(cases))
			}
			for _, se := range stored {
				c := cases[se.Seq-1]
				e := se.Event
				var got []action
				switch d := e.GetDetail().(type) {
				case *vcguardv1.Event_App:
					got = append(got, action{d.App.GetApp().GetPolicyAction(), d.App.GetApp().GetAction()})
				case *vcguardv1.Event_Inventory:
					for _, a := range d.Inventory.GetApps() {
						got = append(got, action{a.GetPolicyAction(), a.GetAction()})
					}
				case *vcguardv1.Event_UserNotified:
					got = append(got, action{d.UserNotified.GetPolicyAction(), d.UserNotified.GetAction()})
				case *vcguardv1.Event_MediaFinding:
					f := d.MediaFinding
					got = append(got, action{f.GetPolicyAction(), f.GetAction()})
					if f.GetKind() != c.wantKind || f.GetFinding() != c.wantFinding {
						t.Errorf("%s: stored kind %v, finding %q; want %v, %q", c.name, f.GetKind(), f.GetFinding(), c.wantKind, c.wantFinding)
					}
				}
				if len(got) != len(c.want) {
					t.Errorf("%s: stored actions %v, want %v", c.name, got, c.want)
				} else {
					for i := range got {
						if got[i] != c.want[i] {
							t.Errorf("%s: stored action %d is %v, want %v", c.name, i, got[i], c.want[i])
						}
					}
				}
				// The detail as the admin API shows it (protobuf JSON,
				// whose spacing varies on purpose).
				js, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(se.Event)
				if err != nil {
					t.Fatal(err)
				}
				var compact bytes.Buffer
				if err := json.Compact(&compact, js); err != nil {
					t.Fatal(err)
				}
				detail := compact.String()
				for _, want := range c.wantJSON {
					if !strings.Contains(detail, want) {
						t.Errorf("%s: the API's detail %s does not hold %s", c.name, detail, want)
					}
				}
			}
		})
	}
}
