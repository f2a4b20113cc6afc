package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

// A secret limited to N uses enrolls N devices, however many enroll at
// once (the use is taken in the enrollment's transaction); the enrollments
// it refuses store neither a device nor an audit entry; an expired or a
// revoked secret enrolls nobody.
func testSecretUses(t *testing.T, s *store.Store) {
	ctx := t.Context()
	now := at(10 * time.Minute)
	sec := store.EnrollmentSecret{ID: "es_limited", Hash: hash("limited"), Created: at(0), Expires: at(100 * time.Minute), MaxUses: 3}
	if err := s.CreateEnrollmentSecret(ctx, sec, change("enrollment_secret_create")); err != nil {
		t.Fatal(err)
	}
	const tries = 8
	var wg sync.WaitGroup
	errs := make([]error, tries)
	for i := range tries {
		wg.Go(func() {
			d := store.Device{ID: fmt.Sprintf("dev_%d", i), Hostname: "h", OS: "linux", SecretID: sec.ID, CertSerial: fmt.Sprint(i), Enrolled: now}
			errs[i] = s.EnrollDevice(ctx, d, now, store.AuditEntry{At: now, Actor: "agent", Action: "device_enroll", Target: "device:" + d.ID})
		})
	}
	wg.Wait()
	var ok, refused int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrSecretUnusable):
			refused++
		default:
			t.Errorf("EnrollDevice: %v", err)
		}
	}
	if ok != 3 || refused != tries-3 {
		t.Errorf("%d enrolled and %d refused, want 3 and %d", ok, refused, tries-3)
	}
	got, err := s.EnrollmentSecretByHash(ctx, sec.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.Uses != 3 || got.MaxUses != 3 || got.Usable(now) || got.Unusable(now) != "used up" {
		t.Errorf("secret after the enrollments: uses %d of %d, usable %v (%q)", got.Uses, got.MaxUses, got.Usable(now), got.Unusable(now))
	}
	log, err := s.AuditLog(ctx, store.AuditFilter{Action: "device_enroll"})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 {
		t.Errorf("%d device_enroll audit entries, want 3 (one per stored device)", len(log))
	}
	for i := range tries {
		_, err := s.DeviceRecord(ctx, fmt.Sprintf("dev_%d", i))
		if (err == nil) != (errs[i] == nil) {
			t.Errorf("device %d stored: %v, enrollment error: %v", i, err == nil, errs[i])
		}
	}

	// Expired and revoked secrets.
	old := store.EnrollmentSecret{ID: "es_old", Hash: hash("old"), Created: at(0), Expires: at(5 * time.Minute)}
	gone := store.EnrollmentSecret{ID: "es_gone", Hash: hash("gone"), Created: at(0)}
	for _, e := range []store.EnrollmentSecret{old, gone} {
		if err := s.CreateEnrollmentSecret(ctx, e, change("enrollment_secret_create")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RevokeEnrollmentSecret(ctx, gone.ID, at(6*time.Minute), change("enrollment_secret_revoke")); err != nil {
		t.Fatal(err)
	}
	for _, e := range []store.EnrollmentSecret{old, gone} {
		d := store.Device{ID: "dev_" + e.ID, Hostname: "h", OS: "linux", SecretID: e.ID, CertSerial: e.ID, Enrolled: now}
		if err := s.EnrollDevice(ctx, d, now, store.AuditEntry{At: now, Actor: "agent", Action: "device_enroll", Target: "x"}); !errors.Is(err, store.ErrSecretUnusable) {
			t.Errorf("enrollment with %s: %v, want ErrSecretUnusable", e.ID, err)
		}
	}
	e, _ := s.EnrollmentSecretByHash(ctx, old.Hash)
	r, _ := s.EnrollmentSecretByHash(ctx, gone.Hash)
	if e.Unusable(now) != "expired" || r.Unusable(now) != "revoked" || e.Uses != 0 {
		t.Errorf("reasons: %q (uses %d), %q", e.Unusable(now), e.Uses, r.Unusable(now))
	}
}
