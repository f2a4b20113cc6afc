package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// opener returns a new, empty, migrated store that the test owns; it is
// closed when the test ends.
type opener func(t *testing.T) *store.Store

func openSQLite(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "vcguard.db"))
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSQLite runs the backend-independent suite on SQLite; TestPostgres
// runs the same suite on PostgreSQL.
func TestSQLite(t *testing.T) {
	t.Parallel()
	runSuite(t, openSQLite)
}

// runSuite runs every backend-independent case, each on a fresh store.
func runSuite(t *testing.T, open opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"EnrollmentSecrets", testEnrollmentSecrets},
		{"RevokeEnrollmentSecret", testRevokeEnrollmentSecret},
		{"SecretUses", testSecretUses},
		{"TOTPSealed", testTOTPSealed},
		{"APITokens", testAPITokens},
		{"Sessions", testSessions},
		{"Admins", testAdmins},
		{"LoginFailures", testLoginFailures},
		{"AuditLog", testAuditLog},
		{"AuditInTransaction", testAuditInTransaction},
		{"APITokenListRevoke", testAPITokenListRevoke},
		{"Devices", testDevices},
		{"DeviceOnline", testDeviceOnline},
		{"IngestIdempotent", testIngestIdempotent},
		{"IngestAppLifecycle", testIngestAppLifecycle},
		{"IngestInventory", testIngestInventory},
		{"IngestPolicyAppliedAndVerdict", testIngestPolicyAppliedAndVerdict},
		{"IngestUnknownDevice", testIngestUnknownDevice},
		{"IngestMedia", testIngestMedia},
		{"EventsSince", testEventsSince},
		{"Events", testEvents},
		{"PublishPolicy", testPublishPolicy},
		{"PublishPolicyConcurrent", testPublishPolicyConcurrent},
		{"PurgeEvents", testPurgeEvents},
		{"PurgeEventsBatches", testPurgeEventsBatches},
		{"FutureEventClamped", testFutureEventClamped},
		{"SequenceOutOfRange", testSequenceOutOfRange},
		{"HostnameChangeAudited", testHostnameChangeAudited},
		{"RetentionRun", testRetentionRun},
		{"GroupsAndRevokeDevice", testGroupsAndRevokeDevice},
		{"ServerKeys", testServerKeys},
		{"Invites", testInvites},
		{"APITokenUse", testAPITokenUse},
		{"SelfServiceCredentials", testSelfServiceCredentials},
		{"AccountsAuditInTransaction", testAccountsAuditInTransaction},
		{"OIDCSignIn", testOIDCSignIn},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

// t0 is a fixed time with microseconds only, as the store keeps them.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func testEnrollmentSecrets(t *testing.T, s *store.Store) {
	ctx := t.Context()
	if got, err := s.EnrollmentSecrets(ctx); err != nil || len(got) != 0 {
		t.Fatalf("EnrollmentSecrets of an empty store = %v, %v", got, err)
	}
	secrets := []store.EnrollmentSecret{
		{ID: "es_old", Description: "first", Hash: hash("old"), Created: at(0)},
		{ID: "es_new", Description: "newest", Hash: hash("new"), Created: at(2 * time.Hour), Expires: at(26 * time.Hour)},
		{ID: "es_b", Description: "same time b", Hash: hash("b"), Created: at(time.Hour)},
		{ID: "es_a", Description: "same time a", Hash: hash("a"), Created: at(time.Hour)},
	}
	for _, e := range secrets {
		if err := s.CreateEnrollmentSecret(ctx, e, change("enrollment_secret_create")); err != nil {
			t.Fatalf("CreateEnrollmentSecret(%s): %v", e.ID, err)
		}
	}
	// The hash is unique, and so is the id.
	if err := s.CreateEnrollmentSecret(ctx, store.EnrollmentSecret{ID: "es_other", Hash: hash("old"), Created: at(0)}, change("enrollment_secret_create")); err == nil {
		t.Error("a second secret with the same hash was stored")
	}
	if err := s.CreateEnrollmentSecret(ctx, store.EnrollmentSecret{ID: "es_old", Hash: hash("x"), Created: at(0)}, change("enrollment_secret_create")); err == nil {
		t.Error("a second secret with the same id was stored")
	}

	got, err := s.EnrollmentSecretByHash(ctx, hash("new"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "es_new" || got.Description != "newest" || !bytes.Equal(got.Hash, hash("new")) || !got.Revoked.IsZero() {
		t.Errorf("EnrollmentSecretByHash = %+v", got)
	}
	sameTime(t, "Created", got.Created, at(2*time.Hour))
	sameTime(t, "Expires", got.Expires, at(26*time.Hour))
	if old, err := s.EnrollmentSecretByHash(ctx, hash("old")); err != nil || !old.Expires.IsZero() {
		t.Errorf("secret without expiry = %+v, %v; want zero Expires", old, err)
	}
	if _, err := s.EnrollmentSecretByHash(ctx, hash("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EnrollmentSecretByHash(unknown) error = %v, want ErrNotFound", err)
	}

	list, err := s.EnrollmentSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range list {
		ids = append(ids, e.ID)
	}
	if want := []string{"es_new", "es_a", "es_b", "es_old"}; !slices.Equal(ids, want) {
		t.Errorf("EnrollmentSecrets order = %v, want %v (newest first, then id)", ids, want)
	}

	// Usable: expiry and revocation.
	tests := []struct {
		name string
		e    store.EnrollmentSecret
		now  time.Time
		want bool
	}{
		{"no expiry", store.EnrollmentSecret{}, at(1000 * time.Hour), true},
		{"before expiry", store.EnrollmentSecret{Expires: at(time.Hour)}, at(59 * time.Minute), true},
		{"at expiry", store.EnrollmentSecret{Expires: at(time.Hour)}, at(time.Hour), false},
		{"after expiry", store.EnrollmentSecret{Expires: at(time.Hour)}, at(2 * time.Hour), false},
		{"revoked", store.EnrollmentSecret{Revoked: at(0)}, at(-time.Hour), false},
		{"revoked before expiry", store.EnrollmentSecret{Expires: at(time.Hour), Revoked: at(0)}, at(time.Minute), false},
	}
	for _, tt := range tests {
		if got := tt.e.Usable(tt.now); got != tt.want {
			t.Errorf("Usable %s = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func testRevokeEnrollmentSecret(t *testing.T, s *store.Store) {
	ctx := t.Context()
	if err := s.CreateEnrollmentSecret(ctx, store.EnrollmentSecret{ID: "es_1", Hash: hash("1"), Created: at(0)}, change("enrollment_secret_create")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEnrollmentSecret(ctx, store.EnrollmentSecret{ID: "es_2", Hash: hash("2"), Created: at(0)}, change("enrollment_secret_create")); err != nil {
		t.Fatal(err)
	}
	e, err := s.RevokeEnrollmentSecret(ctx, "es_1", at(time.Hour), change("enrollment_secret_revoke"))
	if err != nil {
		t.Fatal(err)
	}
	sameTime(t, "Revoked", e.Revoked, at(time.Hour))
	if e.Usable(at(time.Hour)) {
		t.Error("revoked secret is usable")
	}
	// Revoking again keeps the first time.
	e, err = s.RevokeEnrollmentSecret(ctx, "es_1", at(5*time.Hour), change("enrollment_secret_revoke"))
	if err != nil {
		t.Fatal(err)
	}
	sameTime(t, "Revoked after the second revocation", e.Revoked, at(time.Hour))
	e, err = s.EnrollmentSecretByHash(ctx, hash("1"))
	if err != nil {
		t.Fatal(err)
	}
	sameTime(t, "stored Revoked", e.Revoked, at(time.Hour))
	// The other secret is untouched.
	if e, err := s.EnrollmentSecretByHash(ctx, hash("2")); err != nil || !e.Revoked.IsZero() || !e.Usable(at(time.Hour)) {
		t.Errorf("other secret = %+v, %v", e, err)
	}
	if _, err := s.RevokeEnrollmentSecret(ctx, "es_missing", at(0), change("enrollment_secret_revoke")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking an unknown secret: %v, want ErrNotFound", err)
	}
}

func testAPITokens(t *testing.T, s *store.Store) {
	ctx := t.Context()
	for _, tok := range []store.APIToken{
		{ID: "tok_admin", Description: "first start", Hash: hash("admin"), Role: store.RoleAdmin, Created: at(0)},
		{ID: "tok_analyst", Hash: hash("analyst"), Role: store.RoleAnalyst, Created: at(time.Minute)},
	} {
		if err := s.CreateAPIToken(ctx, tok, change("token_create")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.APITokenByHash(ctx, hash("analyst"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "tok_analyst" || got.Role != store.RoleAnalyst || !bytes.Equal(got.Hash, hash("analyst")) || !got.Revoked.IsZero() {
		t.Errorf("APITokenByHash = %+v", got)
	}
	sameTime(t, "Created", got.Created, at(time.Minute))
	got, err = s.APITokenByHash(ctx, hash("admin"))
	if err != nil || got.Role != store.RoleAdmin || got.Description != "first start" {
		t.Errorf("APITokenByHash(admin) = %+v, %v", got, err)
	}
	if _, err := s.APITokenByHash(ctx, hash("guess")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown token: %v, want ErrNotFound", err)
	}
	if _, err := s.APITokenByHash(ctx, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("nil hash: %v, want ErrNotFound", err)
	}
	if err := s.CreateAPIToken(ctx, store.APIToken{ID: "tok_dup", Hash: hash("admin"), Role: store.RoleAdmin, Created: at(0)}, change("token_create")); err == nil {
		t.Error("a second token with the same hash was stored")
	}
}

func testSessions(t *testing.T, s *store.Store) {
	ctx := t.Context()
	sess := store.Session{Hash: hash("s1"), Subject: "token:tok_1", Role: store.RoleAdmin, CSRF: "csrf-1",
		Created: at(0), Expires: at(12 * time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionByHash(ctx, hash("s1"), at(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != sess.Subject || got.Role != sess.Role || got.CSRF != sess.CSRF || !bytes.Equal(got.Hash, sess.Hash) {
		t.Errorf("SessionByHash = %+v, want %+v", got, sess)
	}
	sameTime(t, "Created", got.Created, sess.Created)
	sameTime(t, "Expires", got.Expires, sess.Expires)

	// Expiry.
	if _, err := s.SessionByHash(ctx, hash("s1"), at(12*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session at its expiry: %v, want ErrNotFound", err)
	}
	if _, err := s.SessionByHash(ctx, hash("s1"), at(12*time.Hour-time.Microsecond)); err != nil {
		t.Errorf("session just before its expiry: %v", err)
	}
	if _, err := s.SessionByHash(ctx, hash("other"), at(0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown session: %v, want ErrNotFound", err)
	}

	// A new session drops the expired ones, not the live ones.
	if err := s.CreateSession(ctx, store.Session{Hash: hash("s2"), Subject: "b", Role: store.RoleAnalyst, CSRF: "c2",
		Created: at(11 * time.Hour), Expires: at(23 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, store.Session{Hash: hash("s3"), Subject: "c", Role: store.RoleAnalyst, CSRF: "c3",
		Created: at(13 * time.Hour), Expires: at(25 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// s1 expired at 12h and was dropped at 13h: even a clock set back
	// does not find it.
	if _, err := s.SessionByHash(ctx, hash("s1"), at(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired session survived a new login: %v", err)
	}
	if _, err := s.SessionByHash(ctx, hash("s2"), at(13*time.Hour)); err != nil {
		t.Errorf("live session dropped: %v", err)
	}

	// Logout.
	if err := s.DeleteSession(ctx, hash("s2"), change("logout")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, hash("s2"), at(13*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted session: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, hash("s2"), change("logout")); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
	if _, err := s.SessionByHash(ctx, hash("s3"), at(13*time.Hour)); err != nil {
		t.Errorf("other session gone after a logout: %v", err)
	}
}

func newDevice(t *testing.T, s *store.Store, id, hostname string) store.Device {
	t.Helper()
	d := store.Device{ID: id, Hostname: hostname, OS: "linux", OSVersion: "Debian 13", Arch: "amd64",
		AgentVersion: "0.1.0", SecretID: "es_1", CertSerial: "abc123", Enrolled: at(0)}
	if err := s.CreateDevice(t.Context(), d); err != nil {
		t.Fatalf("CreateDevice(%s): %v", id, err)
	}
	return d
}

func testDevices(t *testing.T, s *store.Store) {
	ctx := t.Context()
	if devs, err := s.Devices(ctx); err != nil || len(devs) != 0 {
		t.Fatalf("Devices of an empty store = %v, %v", devs, err)
	}
	want := newDevice(t, s, "dev-b", "bravo")
	newDevice(t, s, "dev-a", "charlie")
	newDevice(t, s, "dev-c", "alpha")
	if err := s.CreateDevice(ctx, store.Device{ID: "dev-b", Hostname: "again", OS: "linux", Enrolled: at(0)}); err == nil {
		t.Error("a second device with the same id was stored")
	}

	got, err := s.Device(ctx, "dev-b")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != want.ID || got.Hostname != want.Hostname || got.OS != want.OS || got.OSVersion != want.OSVersion ||
		got.Arch != want.Arch || got.AgentVersion != want.AgentVersion || got.SecretID != want.SecretID ||
		got.CertSerial != want.CertSerial || got.Connected || got.PolicyVersion != 0 || got.LastSeq != 0 ||
		!got.LastSeen.IsZero() || !got.Revoked.IsZero() || len(got.Apps) != 0 {
		t.Errorf("Device = %+v, want %+v", got, want)
	}
	sameTime(t, "Enrolled", got.Enrolled, at(0))
	if _, err := s.Device(ctx, "dev-missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Device(unknown): %v, want ErrNotFound", err)
	}

	// Connected: the hello updates what the device says about itself.
	info := &vcguardv1.DeviceInfo{Hostname: "bravo.example", Os: "linux", OsVersion: "Debian 14", Arch: "arm64", AgentVersion: "0.2.0"}
	if err := s.DeviceConnected(ctx, "dev-b", info, at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err = s.Device(ctx, "dev-b")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Connected || got.Hostname != "bravo.example" || got.OSVersion != "Debian 14" || got.Arch != "arm64" || got.AgentVersion != "0.2.0" {
		t.Errorf("after DeviceConnected: %+v", got)
	}
	sameTime(t, "LastSeen after connect", got.LastSeen, at(time.Hour))

	if err := s.TouchDevice(ctx, "dev-b", at(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Device(ctx, "dev-b")
	sameTime(t, "LastSeen after touch", got.LastSeen, at(2*time.Hour))
	if !got.Connected {
		t.Error("touch disconnected the device")
	}

	if err := s.DeviceDisconnected(ctx, "dev-b", at(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Device(ctx, "dev-b")
	if got.Connected {
		t.Error("still connected after DeviceDisconnected")
	}
	sameTime(t, "LastSeen after disconnect", got.LastSeen, at(3*time.Hour))

	// The list is ordered by hostname.
	devs, err := s.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range devs {
		names = append(names, d.Hostname)
	}
	if w := []string{"alpha", "bravo.example", "charlie"}; !slices.Equal(names, w) {
		t.Errorf("Devices order = %v, want %v", names, w)
	}
}

func testDeviceOnline(t *testing.T, s *store.Store) {
	ctx := t.Context()
	newDevice(t, s, "dev-1", "one")
	const stale = 90 * time.Second
	d, _ := s.Device(ctx, "dev-1")
	if d.Online(at(0), stale) {
		t.Error("a device that never connected is online")
	}
	if err := s.DeviceConnected(ctx, "dev-1", &vcguardv1.DeviceInfo{Hostname: "one", Os: "linux"}, at(0)); err != nil {
		t.Fatal(err)
	}
	d, _ = s.Device(ctx, "dev-1")
	tests := []struct {
		now  time.Time
		want bool
	}{
		{at(0), true},
		{at(stale - time.Microsecond), true},
		{at(stale), false},
		{at(time.Hour), false},
	}
	for _, tt := range tests {
		if got := d.Online(tt.now, stale); got != tt.want {
			t.Errorf("Online at +%v = %v, want %v", tt.now.Sub(t0), got, tt.want)
		}
	}
	// Heard from again: online.
	if err := s.TouchDevice(ctx, "dev-1", at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	d, _ = s.Device(ctx, "dev-1")
	if !d.Online(at(time.Hour+time.Second), stale) {
		t.Error("touched device is offline")
	}
	if err := s.DeviceDisconnected(ctx, "dev-1", at(time.Hour+time.Second)); err != nil {
		t.Fatal(err)
	}
	d, _ = s.Device(ctx, "dev-1")
	if d.Online(at(time.Hour+time.Second), stale) {
		t.Error("disconnected device is online")
	}
}

// Event builders.

func instance(appID string, pid int32, started time.Time, v vcguardv1.Verdict) *vcguardv1.AppInstance {
	return &vcguardv1.AppInstance{AppId: appID, Name: appID + " app", Pid: pid, Started: timestamppb.New(started),
		Exe: "/opt/" + appID + "/" + appID, Verdict: v}
}

func appEvent(seq uint64, when time.Time, kind vcguardv1.AppEvent_Kind, app *vcguardv1.AppInstance) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.New(when),
		Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: kind, App: app}}}
}

func started(seq uint64, when time.Time, app *vcguardv1.AppInstance) *vcguardv1.Event {
	return appEvent(seq, when, vcguardv1.AppEvent_KIND_STARTED, app)
}

func stopped(seq uint64, when time.Time, app *vcguardv1.AppInstance) *vcguardv1.Event {
	return appEvent(seq, when, vcguardv1.AppEvent_KIND_STOPPED, app)
}

func inventory(seq uint64, when time.Time, apps ...*vcguardv1.AppInstance) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.New(when),
		Detail: &vcguardv1.Event_Inventory{Inventory: &vcguardv1.Inventory{Apps: apps}}}
}

func policyApplied(seq uint64, when time.Time, version uint64) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.New(when),
		Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: version}}}
}

func ingest(t *testing.T, s *store.Store, device string, now time.Time, events ...*vcguardv1.Event) uint64 {
	t.Helper()
	last, err := s.IngestEvents(t.Context(), device, events, now)
	if err != nil {
		t.Fatalf("IngestEvents: %v", err)
	}
	return last
}

// appsOf describes a device's apps compactly: "app_id/pid running|stopped verdict".
func appsOf(t *testing.T, s *store.Store, device string) []string {
	t.Helper()
	d, err := s.Device(t.Context(), device)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range d.Apps {
		state := "running"
		if !a.Running {
			state = "stopped"
		}
		out = append(out, fmt.Sprintf("%s/%d %s %s", a.AppID, a.PID, state, a.Verdict))
	}
	return out
}

func wantApps(t *testing.T, s *store.Store, device string, want ...string) {
	t.Helper()
	if got := appsOf(t, s, device); !slices.Equal(got, want) {
		t.Errorf("apps of %s = %q, want %q", device, got, want)
	}
}

func testIngestIdempotent(t *testing.T, s *store.Store) {
	ctx := t.Context()
	newDevice(t, s, "dev-1", "one")
	zoom := instance("zoom", 100, at(0), vcguardv1.Verdict_VERDICT_RESTRICTED)
	batch := []*vcguardv1.Event{
		started(1, at(time.Second), zoom),
		started(2, at(2*time.Second), instance("skype", 200, at(time.Second), vcguardv1.Verdict_VERDICT_FORBIDDEN)),
		stopped(3, at(3*time.Second), zoom),
	}
	if last := ingest(t, s, "dev-1", at(time.Minute), batch...); last != 3 {
		t.Fatalf("last seq = %d, want 3", last)
	}
	before, err := s.Device(ctx, "dev-1")
	if err != nil {
		t.Fatal(err)
	}
	eventsBefore, err := s.Events(ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}

	// The same batch again, later, and a prefix of it: nothing changes.
	if last := ingest(t, s, "dev-1", at(2*time.Minute), batch...); last != 3 {
		t.Errorf("resent batch: last seq = %d, want 3", last)
	}
	if last := ingest(t, s, "dev-1", at(3*time.Minute), batch[:1]...); last != 3 {
		t.Errorf("resent first event: last seq = %d, want 3", last)
	}
	after, err := s.Device(ctx, "dev-1")
	if err != nil {
		t.Fatal(err)
	}
	if after.LastSeq != 3 || !slices.EqualFunc(before.Apps, after.Apps, func(a, b store.DeviceApp) bool {
		return a.AppID == b.AppID && a.PID == b.PID && a.Running == b.Running && a.Verdict == b.Verdict &&
			a.Started.Equal(b.Started) && a.Stopped.Equal(b.Stopped)
	}) {
		t.Errorf("resend changed the device:\nbefore %+v\nafter  %+v", before, after)
	}
	eventsAfter, err := s.Events(ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(eventsAfter) != len(eventsBefore) {
		t.Errorf("resend stored %d events, had %d", len(eventsAfter), len(eventsBefore))
	}
	for i := range eventsAfter {
		if !eventsAfter[i].Received.Equal(eventsBefore[i].Received) {
			t.Errorf("event %d: received time changed by the resend", eventsAfter[i].Seq)
		}
	}
	wantApps(t, s, "dev-1", "skype/200 running forbidden", "zoom/100 stopped restricted")

	// A batch that overlaps: only the new tail applies.
	overlap := []*vcguardv1.Event{batch[2], policyApplied(4, at(4*time.Second), 9)}
	if last := ingest(t, s, "dev-1", at(4*time.Minute), overlap...); last != 4 {
		t.Errorf("overlapping batch: last seq = %d, want 4", last)
	}
	// An empty batch returns the stored sequence number.
	if last := ingest(t, s, "dev-1", at(5*time.Minute)); last != 4 {
		t.Errorf("empty batch: last seq = %d, want 4", last)
	}
	d, _ := s.Device(ctx, "dev-1")
	if d.LastSeq != 4 || d.PolicyVersion != 9 {
		t.Errorf("device after overlap: last seq %d policy %d", d.LastSeq, d.PolicyVersion)
	}
	sameTime(t, "LastSeen after ingest", d.LastSeen, at(5*time.Minute))
}

func testIngestAppLifecycle(t *testing.T, s *store.Store) {
	ctx := t.Context()
	newDevice(t, s, "dev-1", "one")
	zoom1 := instance("zoom", 100, at(0), vcguardv1.Verdict_VERDICT_RESTRICTED)
	ingest(t, s, "dev-1", at(time.Second), started(1, at(time.Second), zoom1))
	wantApps(t, s, "dev-1", "zoom/100 running restricted")
	d, _ := s.Device(ctx, "dev-1")
	a := d.Apps[0]
	if a.Name != "zoom app" || a.Exe != "/opt/zoom/zoom" || !a.Stopped.IsZero() {
		t.Errorf("running app = %+v", a)
	}
	sameTime(t, "Started", a.Started, at(0))

	// Stopped: kept, not running, with the time of the event.
	ingest(t, s, "dev-1", at(time.Minute), stopped(2, at(50*time.Second), zoom1))
	wantApps(t, s, "dev-1", "zoom/100 stopped restricted")
	d, _ = s.Device(ctx, "dev-1")
	sameTime(t, "Stopped", d.Apps[0].Stopped, at(50*time.Second))

	// A stop of an instance never seen changes nothing.
	ingest(t, s, "dev-1", at(time.Minute), stopped(3, at(51*time.Second), instance("zoom", 999, at(0), vcguardv1.Verdict_VERDICT_RESTRICTED)))
	wantApps(t, s, "dev-1", "zoom/100 stopped restricted")

	// Another app starting keeps the stopped zoom.
	teams := instance("microsoft-teams", 300, at(time.Minute), vcguardv1.Verdict_VERDICT_APPROVED)
	ingest(t, s, "dev-1", at(2*time.Minute), started(4, at(time.Minute), teams))
	wantApps(t, s, "dev-1", "microsoft-teams/300 running approved", "zoom/100 stopped restricted")

	// A new start of zoom (other pid) drops the older stopped row.
	zoom2 := instance("zoom", 101, at(2*time.Minute), vcguardv1.Verdict_VERDICT_RESTRICTED)
	ingest(t, s, "dev-1", at(3*time.Minute), started(5, at(2*time.Minute), zoom2))
	wantApps(t, s, "dev-1", "microsoft-teams/300 running approved", "zoom/101 running restricted")

	// Two instances of one app run side by side.
	zoom3 := instance("zoom", 102, at(3*time.Minute), vcguardv1.Verdict_VERDICT_RESTRICTED)
	ingest(t, s, "dev-1", at(4*time.Minute), started(6, at(3*time.Minute), zoom3))
	wantApps(t, s, "dev-1", "microsoft-teams/300 running approved", "zoom/101 running restricted", "zoom/102 running restricted")

	// A reused pid with another start time is another instance.
	zoomReused := instance("zoom", 101, at(5*time.Minute), vcguardv1.Verdict_VERDICT_RESTRICTED)
	ingest(t, s, "dev-1", at(6*time.Minute),
		stopped(7, at(4*time.Minute), zoom2),
		stopped(8, at(4*time.Minute), zoom3),
		started(9, at(5*time.Minute), zoomReused))
	wantApps(t, s, "dev-1", "microsoft-teams/300 running approved", "zoom/101 running restricted")
	d, _ = s.Device(ctx, "dev-1")
	for _, a := range d.Apps {
		if a.AppID == "zoom" {
			sameTime(t, "reused pid Started", a.Started, at(5*time.Minute))
		}
	}
}

func testIngestInventory(t *testing.T, s *store.Store) {
	ctx := t.Context()
	newDevice(t, s, "dev-1", "one")
	newDevice(t, s, "dev-2", "two")
	zoom := instance("zoom", 100, at(0), vcguardv1.Verdict_VERDICT_RESTRICTED)
	skype := instance("skype", 200, at(0), vcguardv1.Verdict_VERDICT_FORBIDDEN)
	webex := instance("webex", 300, at(0), vcguardv1.Verdict_VERDICT_RESTRICTED)
	ingest(t, s, "dev-1", at(time.Second), started(1, at(time.Second), zoom), started(2, at(time.Second), skype))
	ingest(t, s, "dev-2", at(time.Second), started(1, at(time.Second), webex))

	// After a reconnect the agent sends what runs now: skype has exited
	// unseen, teams started.
	teams := instance("microsoft-teams", 400, at(time.Minute), vcguardv1.Verdict_VERDICT_APPROVED)
	zoomNow := proto.Clone(zoom).(*vcguardv1.AppInstance)
	zoomNow.Verdict = vcguardv1.Verdict_VERDICT_FORBIDDEN // under a newer policy
	ingest(t, s, "dev-1", at(2*time.Minute), inventory(3, at(2*time.Minute), zoomNow, teams))
	wantApps(t, s, "dev-1", "microsoft-teams/400 running approved", "zoom/100 running forbidden", "skype/200 stopped forbidden")
	d, _ := s.Device(ctx, "dev-1")
	for _, a := range d.Apps {
		switch a.AppID {
		case "skype":
			sameTime(t, "skype Stopped", a.Stopped, at(2*time.Minute))
		case "zoom":
			if !a.Stopped.IsZero() {
				t.Errorf("zoom still running but Stopped = %v", a.Stopped)
			}
			sameTime(t, "zoom Started", a.Started, at(0))
		}
	}
	// Another device is not touched.
	wantApps(t, s, "dev-2", "webex/300 running restricted")

	// An empty inventory: nothing runs.
	ingest(t, s, "dev-1", at(3*time.Minute), inventory(4, at(3*time.Minute)))
	// (Running rows sort first, then by app id.)
	wantApps(t, s, "dev-1", "microsoft-teams/400 stopped approved", "skype/200 stopped forbidden", "zoom/100 stopped forbidden")
}

func testIngestPolicyAppliedAndVerdict(t *testing.T, s *store.Store) {
	ctx := t.Context()
	newDevice(t, s, "dev-1", "one")
	zoom := instance("zoom", 100, at(0), vcguardv1.Verdict_VERDICT_APPROVED)
	ingest(t, s, "dev-1", at(time.Second), policyApplied(1, at(time.Second), 1), started(2, at(time.Second), zoom))
	d, _ := s.Device(ctx, "dev-1")
	if d.PolicyVersion != 1 {
		t.Errorf("policy version = %d, want 1", d.PolicyVersion)
	}
	changed := proto.Clone(zoom).(*vcguardv1.AppInstance)
	changed.Verdict = vcguardv1.Verdict_VERDICT_FORBIDDEN
	ingest(t, s, "dev-1", at(time.Minute),
		policyApplied(3, at(time.Minute), 2),
		appEvent(4, at(time.Minute), vcguardv1.AppEvent_KIND_VERDICT_CHANGED, changed))
	d, _ = s.Device(ctx, "dev-1")
	if d.PolicyVersion != 2 {
		t.Errorf("policy version = %d, want 2", d.PolicyVersion)
	}
	wantApps(t, s, "dev-1", "zoom/100 running forbidden")

	// Verdict names of every verdict.
	for v, name := range map[vcguardv1.Verdict]string{
		vcguardv1.Verdict_VERDICT_APPROVED:   "approved",
		vcguardv1.Verdict_VERDICT_RESTRICTED: "restricted",
		vcguardv1.Verdict_VERDICT_FORBIDDEN:  "forbidden",
		vcguardv1.Verdict_VERDICT_UNLISTED:   "unlisted",
		vcguardv1.Verdict_VERDICT_UNVERIFIED: "unverified",
		vcguardv1.Verdict_VERDICT_OUTDATED:   "outdated",
		vcguardv1.Verdict(0):                 "unknown",
	} {
		if got := store.VerdictName(v); got != name {
			t.Errorf("VerdictName(%v) = %q, want %q", v, got, name)
		}
	}
}

func testIngestUnknownDevice(t *testing.T, s *store.Store) {
	_, err := s.IngestEvents(t.Context(), "dev-ghost", []*vcguardv1.Event{policyApplied(1, at(0), 1)}, at(0))
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("IngestEvents of an unknown device: %v, want ErrNotFound", err)
	}
	if evs, err := s.Events(t.Context(), store.EventFilter{}); err != nil || len(evs) != 0 {
		t.Errorf("events after a refused batch = %v, %v", evs, err)
	}
}

func testEvents(t *testing.T, s *store.Store) {
	ctx := t.Context()
	newDevice(t, s, "dev-1", "one")
	newDevice(t, s, "dev-2", "two")
	zoom := instance("zoom", 100, at(0), vcguardv1.Verdict_VERDICT_RESTRICTED)
	ingest(t, s, "dev-1", at(time.Hour),
		started(1, at(1*time.Second), zoom),
		policyApplied(2, at(2*time.Second), 1),
		stopped(3, at(4*time.Second), zoom),
		inventory(4, at(5*time.Second)))
	ingest(t, s, "dev-2", at(time.Hour),
		policyApplied(1, at(3*time.Second), 1),
		started(2, at(6*time.Second), instance("skype", 5, at(0), vcguardv1.Verdict_VERDICT_FORBIDDEN)),
		appEvent(3, at(7*time.Second), vcguardv1.AppEvent_KIND_VERDICT_CHANGED, instance("skype", 5, at(0), vcguardv1.Verdict_VERDICT_APPROVED)))

	key := func(evs []store.StoredEvent) []string {
		var out []string
		for _, e := range evs {
			out = append(out, fmt.Sprintf("%s/%d %s", e.DeviceID, e.Seq, e.Type))
		}
		return out
	}
	tests := []struct {
		name string
		f    store.EventFilter
		want []string
	}{
		{"all, newest first", store.EventFilter{}, []string{
			"dev-2/3 app_verdict_changed", "dev-2/2 app_started", "dev-1/4 inventory", "dev-1/3 app_stopped",
			"dev-2/1 policy_applied", "dev-1/2 policy_applied", "dev-1/1 app_started"}},
		{"one device", store.EventFilter{DeviceID: "dev-1"}, []string{
			"dev-1/4 inventory", "dev-1/3 app_stopped", "dev-1/2 policy_applied", "dev-1/1 app_started"}},
		{"one type", store.EventFilter{Type: "policy_applied"}, []string{"dev-2/1 policy_applied", "dev-1/2 policy_applied"}},
		{"device and type", store.EventFilter{DeviceID: "dev-2", Type: "app_started"}, []string{"dev-2/2 app_started"}},
		{"limit", store.EventFilter{Limit: 2}, []string{"dev-2/3 app_verdict_changed", "dev-2/2 app_started"}},
		{"device and limit", store.EventFilter{DeviceID: "dev-1", Limit: 1}, []string{"dev-1/4 inventory"}},
		{"no match", store.EventFilter{DeviceID: "dev-3"}, nil},
		{"unknown type", store.EventFilter{Type: "nope"}, nil},
	}
	for _, tt := range tests {
		evs, err := s.Events(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := key(evs); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Events = %q, want %q", tt.name, got, tt.want)
		}
	}

	// The stored event round-trips with its times.
	evs, err := s.Events(ctx, store.EventFilter{DeviceID: "dev-1", Type: "app_stopped"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("Events = %v, %v", evs, err)
	}
	e := evs[0]
	sameTime(t, "Time", e.Time, at(4*time.Second))
	sameTime(t, "Received", e.Received, at(time.Hour))
	if want := stopped(3, at(4*time.Second), zoom); !proto.Equal(e.Event, want) {
		t.Errorf("stored event = %v, want %v", e.Event, want)
	}
	if store.EventType(e.Event) != "app_stopped" {
		t.Errorf("EventType = %q", store.EventType(e.Event))
	}
	if got := store.EventType(&vcguardv1.Event{}); got != "unknown" {
		t.Errorf("EventType(empty) = %q", got)
	}

	// The default limit is 100.
	newDevice(t, s, "dev-busy", "busy")
	var many []*vcguardv1.Event
	for i := range 120 {
		many = append(many, policyApplied(uint64(i+1), at(time.Duration(i)*time.Millisecond), 1))
	}
	ingest(t, s, "dev-busy", at(time.Hour), many...)
	if evs, err := s.Events(ctx, store.EventFilter{DeviceID: "dev-busy"}); err != nil || len(evs) != 100 || evs[0].Seq != 120 {
		t.Errorf("default limit: %d events (first seq %v), %v", len(evs), evs[0].Seq, err)
	}
}

func testPublishPolicy(t *testing.T, s *store.Store) {
	ctx := t.Context()
	if _, err := s.CurrentPolicy(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CurrentPolicy of an empty store: %v, want ErrNotFound", err)
	}
	if ps, err := s.Policies(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("Policies of an empty store = %v, %v", ps, err)
	}
	for i := 1; i <= 3; i++ {
		doc := fmt.Appendf(nil, "name: Policy %d\n", i)
		var signed uint64
		var signedDoc []byte
		p, err := s.PublishPolicy(ctx, store.NewPolicy{Name: fmt.Sprintf("Policy %d", i), Document: doc, By: "token:tok_1", At: at(time.Duration(i) * time.Hour)},
			func(version uint64, d []byte) []byte {
				signed, signedDoc = version, d
				return fmt.Appendf(nil, "sig-%d", version)
			}, change("policy_publish"))
		if err != nil {
			t.Fatal(err)
		}
		if p.Version != uint64(i) || signed != uint64(i) || !bytes.Equal(signedDoc, doc) {
			t.Errorf("publish %d: version %d, signed version %d doc %q", i, p.Version, signed, signedDoc)
		}
		if string(p.Signature) != fmt.Sprintf("sig-%d", i) || p.PublishedBy != "token:tok_1" {
			t.Errorf("publish %d = %+v", i, p)
		}
		sameTime(t, "Published", p.Published, at(time.Duration(i)*time.Hour))
	}
	cur, err := s.CurrentPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version != 3 || cur.Name != "Policy 3" || string(cur.Document) != "name: Policy 3\n" || string(cur.Signature) != "sig-3" {
		t.Errorf("CurrentPolicy = %+v", cur)
	}
	sameTime(t, "current Published", cur.Published, at(3*time.Hour))
	p2, err := s.Policy(ctx, 2)
	if err != nil || p2.Version != 2 || p2.Name != "Policy 2" || string(p2.Signature) != "sig-2" {
		t.Errorf("Policy(2) = %+v, %v", p2, err)
	}
	if _, err := s.Policy(ctx, 4); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Policy(4): %v, want ErrNotFound", err)
	}
	ps, err := s.Policies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var versions []uint64
	for _, p := range ps {
		versions = append(versions, p.Version)
	}
	if !slices.Equal(versions, []uint64{3, 2, 1}) {
		t.Errorf("Policies versions = %v, want [3 2 1]", versions)
	}
}

func testPublishPolicyConcurrent(t *testing.T, s *store.Store) {
	ctx := t.Context()
	const workers, each = 8, 5
	var (
		mu       sync.Mutex
		versions []uint64
		wg       sync.WaitGroup
		errs     = make(chan error, workers*each)
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				doc := fmt.Appendf(nil, "name: w%d-%d\n", w, i)
				p, err := s.PublishPolicy(ctx, store.NewPolicy{Name: fmt.Sprintf("w%d-%d", w, i), Document: doc, By: "test", At: time.Now()},
					func(v uint64, d []byte) []byte { return fmt.Appendf(nil, "%d:%s", v, d) }, change("policy_publish"))
				if err != nil {
					errs <- err
					continue
				}
				mu.Lock()
				versions = append(versions, p.Version)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent PublishPolicy: %v", err)
	}
	slices.Sort(versions)
	for i, v := range versions {
		if v != uint64(i+1) {
			t.Fatalf("versions = %v, want 1..%d each once", versions, workers*each)
		}
	}
	if len(versions) != workers*each {
		t.Fatalf("%d versions published, want %d", len(versions), workers*each)
	}
	// Every stored signature covers the number stored with it.
	ps, err := s.Policies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if want := fmt.Sprintf("%d:%s", p.Version, p.Document); string(p.Signature) != want {
			t.Errorf("version %d signed as %q", p.Version, p.Signature)
		}
	}
}

// SQLite-specific: the file, its mode, migrations on re-open.

func TestSQLiteFileAndReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vcguard.db")
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIToken(ctx, store.APIToken{ID: "tok_1", Hash: hash("t"), Role: store.RoleAdmin, Created: at(0)}, change("token_create")); err != nil {
		t.Fatal(err)
	}
	newDevice(t, s, "dev-1", "one")
	ingest(t, s, "dev-1", at(time.Second), policyApplied(1, at(time.Second), 1))

	// The database and its WAL hold personal data: owner only.
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if errors.Is(err, os.ErrNotExist) && name == path+"-shm" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		wantPrivateMode(t, filepath.Base(name), fi)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Re-opening migrates nothing and keeps the data, twice over.
	for i := range 2 {
		s, err = store.OpenSQLite(ctx, path)
		if err != nil {
			t.Fatalf("re-open %d: %v", i+1, err)
		}
		if tok, err := s.APITokenByHash(ctx, hash("t")); err != nil || tok.ID != "tok_1" {
			t.Errorf("re-open %d: token = %+v, %v", i+1, tok, err)
		}
		if d, err := s.Device(ctx, "dev-1"); err != nil || d.LastSeq != 1 || d.PolicyVersion != 1 {
			t.Errorf("re-open %d: device = %+v, %v", i+1, d, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("after re-open: %v", err)
	}
	wantPrivateMode(t, "after re-open "+filepath.Base(path), fi)
}

func TestOpenSQLiteErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A directory that does not exist.
	if _, err := store.OpenSQLite(t.Context(), filepath.Join(dir, "missing", "vcguard.db")); err == nil {
		t.Error("opened a database in a missing directory")
	}
	// A file that is not a database.
	bad := filepath.Join(dir, "bad.db")
	if err := os.WriteFile(bad, bytes.Repeat([]byte("not a database "), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenSQLite(t.Context(), bad)
	if err == nil {
		s.Close()
		t.Fatal("opened a file that is not a database")
	}
	if !bytes.Contains([]byte(err.Error()), []byte(bad)) {
		t.Errorf("error %q does not name the file", err)
	}
}

func mediaEvent(seq uint64, when time.Time, on bool, u *vcguardv1.MediaUse) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.New(when), Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{Use: u, On: on}}}
}

func wantMedia(t *testing.T, s *store.Store, id string, want ...string) {
	t.Helper()
	d, err := s.Device(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range d.Media {
		got = append(got, fmt.Sprintf("%s %d %s %s", m.Kind, m.PID, m.Process, m.AppID))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("media of %s = %q, want %q", id, got, want)
	}
}

// Cameras and microphones in use: on adds, off removes, an inventory
// replaces; the events are typed camera_on, microphone_off, ….
func testIngestMedia(t *testing.T, s *store.Store) {
	newDevice(t, s, "dev-1", "one")
	mic := &vcguardv1.MediaUse{Kind: "microphone", Device: "alsa_input.usb", Pid: 4242, Process: "zoom", AppId: "zoom", Category: "meeting",
		Session: "uid 1000", Source: "pipewire", Since: timestamppb.New(at(0))}
	cam := &vcguardv1.MediaUse{Kind: "camera", Device: "/dev/video0", Pid: 777, Process: "obs", Source: "v4l2", Since: timestamppb.New(at(time.Second))}
	ingest(t, s, "dev-1", at(time.Second), mediaEvent(1, at(0), true, mic), mediaEvent(2, at(time.Second), true, cam))
	wantMedia(t, s, "dev-1", "camera 777 obs ", "microphone 4242 zoom zoom")
	d, _ := s.Device(t.Context(), "dev-1")
	sameTime(t, "camera since", d.Media[0].Since, at(time.Second))
	ingest(t, s, "dev-1", at(2*time.Second), mediaEvent(3, at(2*time.Second), false, cam))
	wantMedia(t, s, "dev-1", "microphone 4242 zoom zoom")
	evs, err := s.Events(t.Context(), store.EventFilter{DeviceID: "dev-1"})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if strings.Join(types, ",") != "camera_off,camera_on,microphone_on" {
		t.Errorf("event types %v (newest first)", types)
	}
	inv := inventory(4, at(time.Minute))
	inv.GetInventory().Media = []*vcguardv1.MediaUse{cam}
	ingest(t, s, "dev-1", at(time.Minute), inv)
	wantMedia(t, s, "dev-1", "camera 777 obs ")
}

// The dashboard's charts read events of one type since a time, oldest
// first, and count them.
func testEventsSince(t *testing.T, s *store.Store) {
	ctx := t.Context()
	newDevice(t, s, "dev-1", "one")
	cam := &vcguardv1.MediaUse{Kind: "camera", Device: "/dev/video0", Pid: 7, Source: "v4l2", Since: timestamppb.New(at(0))}
	ingest(t, s, "dev-1", at(3*time.Hour),
		mediaEvent(1, at(0), true, cam), mediaEvent(2, at(time.Hour), false, cam),
		mediaEvent(3, at(2*time.Hour), true, cam), mediaEvent(4, at(3*time.Hour), false, cam))
	evs, err := s.EventsSince(ctx, "camera_on", at(time.Minute), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Seq != 3 {
		t.Errorf("camera_on since 1 min = %+v, want seq 3 only", evs)
	}
	evs, err = s.EventsSince(ctx, "camera_off", at(0), 1)
	if err != nil || len(evs) != 1 || evs[0].Seq != 2 {
		t.Errorf("camera_off since 0, limit 1 = %+v, %v; want seq 2 (oldest first)", evs, err)
	}
	for _, tc := range []struct {
		typ   string
		since time.Time
		want  int
	}{{"camera_on", at(0), 2}, {"camera_off", at(90 * time.Minute), 1}, {"microphone_on", at(0), 0}} {
		if n, err := s.CountEventsSince(ctx, tc.typ, tc.since); err != nil || n != tc.want {
			t.Errorf("CountEventsSince(%s, %v) = %d, %v; want %d", tc.typ, tc.since, n, err, tc.want)
		}
	}
}
