package admin_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/store"
)

// Every list of the read surface is bounded the same way for the JSON API
// and the dashboard: a limit of 0 is the default, one above the maximum,
// a negative one, a cursor the server did not hand out and an unknown
// status are refused as ErrInvalid before the store is asked.
func TestReadLimits(t *testing.T) {
	t.Parallel()
	env := adminapitest.New(t)
	s, ctx := env.Service, t.Context()
	for i := range 3 {
		if err := env.Store.CreateDevice(ctx, store.Device{ID: fmt.Sprintf("dev-%d", i), Hostname: fmt.Sprintf("host-%d", i),
			OS: "linux", Enrolled: s.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	for name, err := range map[string]error{
		"devices limit above max": func() error { _, err := s.Devices(ctx, admin.DeviceQuery{Limit: admin.MaxDeviceLimit + 1}); return err }(),
		"devices negative limit":  func() error { _, err := s.Devices(ctx, admin.DeviceQuery{Limit: -1}); return err }(),
		"devices bad cursor":      func() error { _, err := s.Devices(ctx, admin.DeviceQuery{Cursor: "garbage"}); return err }(),
		"devices bad before":      func() error { _, err := s.Devices(ctx, admin.DeviceQuery{Before: "garbage"}); return err }(),
		"devices bad status":      func() error { _, err := s.Devices(ctx, admin.DeviceQuery{Status: "asleep"}); return err }(),
		"count bad status":        func() error { _, err := s.CountDevices(ctx, admin.DeviceQuery{Status: "asleep"}); return err }(),
		"events limit above max":  func() error { _, err := s.Events(ctx, admin.EventQuery{Limit: admin.MaxEventLimit + 1}); return err }(),
		"events bad cursor":       func() error { _, err := s.Events(ctx, admin.EventQuery{Cursor: "garbage"}); return err }(),
		"events device cursor": func() error {
			_, err := s.Events(ctx, admin.EventQuery{Cursor: store.DeviceKey{Hostname: "h", ID: "i"}.String()})
			return err
		}(),
		"audit limit above max": func() error { _, err := s.AuditLog(ctx, admin.AuditQuery{Limit: admin.MaxAuditLimit + 1}); return err }(),
		"audit negative before": func() error { _, err := s.AuditLog(ctx, admin.AuditQuery{Before: -1}); return err }(),
		"media limit 0":         func() error { _, err := s.UnapprovedMedia(ctx, 0); return err }(),
		"media above max":       func() error { _, err := s.UnapprovedMedia(ctx, admin.MaxMediaUses+1); return err }(),
	} {
		if !errors.Is(err, admin.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}

	// Paging devices forward and back.
	first, err := s.Devices(ctx, admin.DeviceQuery{Limit: 2})
	if err != nil || len(first.Devices) != 2 || first.Next == "" || first.Prev != "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	if c := admin.DeviceCursor(first.Devices[1]); c != first.Next {
		t.Errorf("DeviceCursor of the last device %q, the page's Next %q", c, first.Next)
	}
	second, err := s.Devices(ctx, admin.DeviceQuery{Limit: 2, Cursor: first.Next})
	if err != nil || len(second.Devices) != 1 || second.Devices[0].ID != "dev-2" || second.Next != "" || second.Prev == "" {
		t.Fatalf("second page: %+v, %v", second, err)
	}
	back, err := s.Devices(ctx, admin.DeviceQuery{Limit: 2, Before: second.Prev})
	if err != nil || len(back.Devices) != 2 || back.Devices[0].ID != "dev-0" {
		t.Errorf("back from the second page: %+v, %v", back, err)
	}
	if n, err := s.CountDevices(ctx, admin.DeviceQuery{Q: " HOST-1 ", Limit: 5000, Cursor: "ignored"}); err != nil || n != 1 {
		t.Errorf("CountDevices(host-1) = %d, %v; want 1 (page fields ignored, q trimmed)", n, err)
	}

	// The audit log: the default page and its Next.
	for i := range admin.DefaultAuditLimit + 5 {
		if _, _, err := s.CreateAPIToken(ctx, alice, fmt.Sprint("token ", i), store.RoleAnalyst); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.AuditLog(ctx, admin.AuditQuery{})
	if err != nil || len(page.Entries) != admin.DefaultAuditLimit || page.Next != page.Entries[len(page.Entries)-1].ID {
		t.Fatalf("audit page: %d entries, next %d, %v", len(page.Entries), page.Next, err)
	}
	rest, err := s.AuditLog(ctx, admin.AuditQuery{Before: page.Next})
	if err != nil || len(rest.Entries) != 5 || rest.Next != 0 {
		t.Errorf("older audit page: %d entries, next %d, %v; want 5 and the end", len(rest.Entries), rest.Next, err)
	}
}

// The views say what the JSON API says: a device online or stale at the
// service's clock, a secret usable until it expires.
func TestReadViews(t *testing.T) {
	t.Parallel()
	env := adminapitest.New(t)
	s, ctx := env.Service, t.Context()
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	s.Clock = func() time.Time { return now }
	if err := env.Store.CreateDevice(ctx, store.Device{ID: "dev-1", Hostname: "laptop", OS: "linux", Enrolled: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Device(ctx, "dev-1")
	if err != nil || d.Online || d.Apps == nil || d.Media == nil || d.Revoked != nil {
		t.Errorf("Device = %+v, %v; want offline, empty app and media lists", d, err)
	}
	if _, err := s.Device(ctx, "nobody"); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("Device(nobody) = %v, want ErrNotFound", err)
	}
	page, err := s.Devices(ctx, admin.DeviceQuery{Status: "stale"})
	if err != nil || len(page.Devices) != 1 || !page.Devices[0].Stale {
		t.Errorf("stale devices = %+v, %v", page, err)
	}
	if _, _, err := s.CreateEnrollmentSecret(ctx, alice, admin.SecretSpec{Description: "day", TTL: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	secrets, err := s.EnrollmentSecrets(ctx)
	if err != nil || len(secrets) != 1 || !secrets[0].Usable || secrets[0].Expires == nil {
		t.Fatalf("secrets = %+v, %v", secrets, err)
	}
	now = now.Add(25 * time.Hour)
	if secrets, _ := s.EnrollmentSecrets(ctx); secrets[0].Usable {
		t.Error("a secret past its expiry is listed usable")
	}
	cur, err := s.CurrentPolicy(ctx)
	if err != nil || cur.Version != 1 || cur.Document == "" {
		t.Fatalf("CurrentPolicy = %+v, %v", cur, err)
	}
	list, err := s.Policies(ctx)
	if err != nil || len(list) != 1 || list[0].Document != "" {
		t.Errorf("Policies = %+v, %v; want version 1 without its document", list, err)
	}
}
