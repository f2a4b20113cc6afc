package store_test

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

// Enrollment secrets carry a device group, devices keep it, and revoking a
// device is recorded once and listed.
func testGroupsAndRevokeDevice(t *testing.T, s *store.Store) {
	ctx := t.Context()
	sec := store.EnrollmentSecret{ID: "es_g", Description: "radiology", Hash: hash("g"), Created: at(0), Group: "radiology"}
	if err := s.CreateEnrollmentSecret(ctx, sec, change("enrollment_secret_create")); err != nil {
		t.Fatal(err)
	}
	got, err := s.EnrollmentSecretByHash(ctx, hash("g"))
	if err != nil || got.Group != "radiology" {
		t.Fatalf("EnrollmentSecretByHash = %+v, %v; want group radiology", got, err)
	}
	list, err := s.EnrollmentSecrets(ctx)
	if err != nil || len(list) != 1 || list[0].Group != "radiology" {
		t.Fatalf("EnrollmentSecrets = %+v, %v", list, err)
	}
	if rev, err := s.RevokeEnrollmentSecret(ctx, "es_g", at(time.Hour), change("enrollment_secret_revoke")); err != nil || rev.Group != "radiology" {
		t.Errorf("RevokeEnrollmentSecret = %+v, %v", rev, err)
	}

	if err := s.CreateDevice(ctx, store.Device{ID: "dev-g", Hostname: "ct-1", OS: "linux", SecretID: "es_g", Enrolled: at(0), Group: "radiology"}); err != nil {
		t.Fatal(err)
	}
	newDevice(t, s, "dev-n", "nurse-1")
	d, err := s.Device(ctx, "dev-g")
	if err != nil || d.Group != "radiology" {
		t.Fatalf("Device = %+v, %v; want group radiology", d, err)
	}
	devs, err := s.Devices(ctx)
	if err != nil || len(devs) != 2 || devs[0].Group != "radiology" || devs[1].Group != "" {
		t.Fatalf("Devices = %+v, %v", devs, err)
	}

	if ids, err := s.RevokedDevices(ctx); err != nil || len(ids) != 0 {
		t.Errorf("RevokedDevices before = %v, %v", ids, err)
	}
	d, err = s.RevokeDevice(ctx, "dev-g", at(2*time.Hour), change("device_revoke"))
	if err != nil {
		t.Fatal(err)
	}
	sameTime(t, "Revoked", d.Revoked, at(2*time.Hour))
	// A second revoke keeps the first time.
	d, err = s.RevokeDevice(ctx, "dev-g", at(3*time.Hour), change("device_revoke"))
	if err != nil {
		t.Fatal(err)
	}
	sameTime(t, "Revoked after a second revoke", d.Revoked, at(2*time.Hour))
	if _, err := s.RevokeDevice(ctx, "dev-missing", at(time.Hour), change("device_revoke")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeDevice(unknown): %v, want ErrNotFound", err)
	}
	if ids, err := s.RevokedDevices(ctx); err != nil || !slices.Equal(ids, []string{"dev-g"}) {
		t.Errorf("RevokedDevices = %v, %v; want [dev-g]", ids, err)
	}
	if d, _ := s.Device(ctx, "dev-n"); !d.Revoked.IsZero() {
		t.Error("revoking one device revoked another")
	}

	if err := s.SetCertSerial(ctx, "dev-n", "beef"); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Device(ctx, "dev-n"); d.CertSerial != "beef" {
		t.Errorf("CertSerial = %q after SetCertSerial, want beef", d.CertSerial)
	}
	if err := s.SetCertSerial(ctx, "dev-missing", "beef"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetCertSerial(unknown): %v, want ErrNotFound", err)
	}
}

// Replicas starting at once each offer a key: exactly one is kept and all
// of them read back that one.
func testServerKeys(t *testing.T, s *store.Store) {
	ctx := t.Context()
	if _, err := s.ServerKey(ctx, store.ServerKeyCA); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ServerKey of an empty store: %v, want ErrNotFound", err)
	}
	const n = 8
	var wg sync.WaitGroup
	got := make([]store.ServerKey, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			got[i], errs[i] = s.AddServerKey(ctx, store.ServerKey{Name: store.ServerKeyCA,
				Certificate: []byte{'c', byte(i)}, PrivateKey: []byte{'k', byte(i)}, Created: at(time.Duration(i) * time.Second)})
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("AddServerKey %d: %v", i, errs[i])
		}
		if !bytes.Equal(got[i].Certificate, got[0].Certificate) || !bytes.Equal(got[i].PrivateKey, got[0].PrivateKey) {
			t.Errorf("replica %d got %q/%q, replica 0 got %q/%q", i, got[i].Certificate, got[i].PrivateKey, got[0].Certificate, got[0].PrivateKey)
		}
	}
	if got[0].Certificate[1] != got[0].PrivateKey[1] {
		t.Errorf("certificate of one offer stored with the key of another: %q/%q", got[0].Certificate, got[0].PrivateKey)
	}
	stored, err := s.ServerKey(ctx, store.ServerKeyCA)
	if err != nil || !bytes.Equal(stored.PrivateKey, got[0].PrivateKey) {
		t.Fatalf("ServerKey = %+v, %v", stored, err)
	}
	// Sealing in place is a compare-and-swap.
	if ok, err := s.ReplaceServerKeyPrivate(ctx, store.ServerKeyCA, []byte("not it"), []byte("sealed")); err != nil || ok {
		t.Errorf("replace with a stale old value = %v, %v; want false", ok, err)
	}
	if ok, err := s.ReplaceServerKeyPrivate(ctx, store.ServerKeyCA, stored.PrivateKey, []byte("sealed")); err != nil || !ok {
		t.Errorf("replace = %v, %v; want true", ok, err)
	}
	if k, _ := s.ServerKey(ctx, store.ServerKeyCA); string(k.PrivateKey) != "sealed" || !bytes.Equal(k.Certificate, stored.Certificate) {
		t.Errorf("after replace: %q/%q", k.Certificate, k.PrivateKey)
	}
	// Another name is another key.
	if k, err := s.AddServerKey(ctx, store.ServerKey{Name: store.ServerKeyPolicy, Certificate: []byte{}, PrivateKey: []byte("p"), Created: at(0)}); err != nil || string(k.PrivateKey) != "p" {
		t.Errorf("AddServerKey(policy) = %+v, %v", k, err)
	}
}

// PostgreSQL: policy publications and revocations reach a listener on
// commit, in order, and only for its own schema.
func TestPostgresNotices(t *testing.T) {
	t.Parallel()
	dsn := newSchema(t)
	ctx := t.Context()
	pub, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	lis, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	other := openPostgres(t) // another installation on the same database
	if !pub.Shared() {
		t.Error("a PostgreSQL store is not Shared")
	}

	notices := make(chan store.Notice, 16)
	listening := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- lis.Listen(ctx, func() { close(listening) }, func(n store.Notice) { notices <- n })
	}()
	select {
	case <-listening:
	case err := <-done:
		t.Fatalf("Listen: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not start")
	}
	next := func() store.Notice {
		t.Helper()
		select {
		case n := <-notices:
			return n
		case <-time.After(5 * time.Second):
			t.Fatal("no notice within 5 s")
			return store.Notice{}
		}
	}
	sign := func(uint64, []byte) []byte { return []byte("sig") }

	if _, err := other.PublishPolicy(ctx, store.NewPolicy{Name: "theirs", Document: []byte("d"), By: "x", At: at(0)}, sign, change("policy_publish")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	v, err := pub.PublishPolicy(ctx, store.NewPolicy{Name: "ours", Document: []byte("d2"), By: "x", At: at(0)}, sign, change("policy_publish"))
	if err != nil {
		t.Fatal(err)
	}
	if n := next(); n.Kind != store.NoticePolicy || n.Version != v.Version {
		t.Fatalf("notice %+v, want policy version %d", n, v.Version)
	}
	t.Logf("notice delivered %v after publish began", time.Since(start))

	newDevice(t, pub, "dev-1", "alpha")
	if _, err := pub.RevokeDevice(ctx, "dev-1", at(time.Hour), change("device_revoke")); err != nil {
		t.Fatal(err)
	}
	if n := next(); n.Kind != store.NoticeRevoke || n.Device != "dev-1" {
		t.Fatalf("notice %+v, want revoke dev-1", n)
	}
	select {
	case n := <-notices:
		t.Errorf("unexpected notice %+v", n)
	default:
	}
}

// SQLite has no other replica: Listen returns at once.
func TestSQLiteListen(t *testing.T) {
	t.Parallel()
	s := openSQLite(t)
	if s.Shared() {
		t.Error("a SQLite store is Shared")
	}
	if err := s.Listen(t.Context(), func() { t.Error("listening on SQLite") }, func(store.Notice) {}); err != nil {
		t.Errorf("Listen on SQLite: %v", err)
	}
}

// Exclusive: replicas take turns (PostgreSQL advisory lock).
func TestPostgresExclusive(t *testing.T) {
	t.Parallel()
	dsn := newSchema(t)
	var replicas [2]*store.Store
	for i := range replicas {
		s, err := store.OpenPostgres(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		replicas[i] = s
	}
	var mu sync.Mutex
	inside, overlaps := 0, 0
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			err := replicas[i%2].Exclusive(t.Context(), "test", func() error {
				mu.Lock()
				inside++
				if inside > 1 {
					overlaps++
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
				mu.Lock()
				inside--
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Errorf("Exclusive: %v", err)
			}
		})
	}
	wg.Wait()
	if overlaps > 0 {
		t.Errorf("%d times two holders were inside at once", overlaps)
	}
}
