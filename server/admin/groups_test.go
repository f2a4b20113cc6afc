package admin_test

import (
	"errors"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/store"
)

// A device's group changes through the service, audited with its actor,
// address and the groups before and after; a bad group, an unknown device
// and a change to the same group leave no entry.
func TestSetDeviceGroup(t *testing.T) {
	t.Parallel()
	env := adminapitest.New(t)
	s, ctx := env.Service, t.Context()
	if err := env.Store.CreateDevice(ctx, store.Device{ID: "dev-1", Hostname: "one", Group: "sales", Enrolled: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetDeviceGroup(ctx, alice, "dev-1", "no spaces"); !errors.Is(err, admin.ErrInvalid) {
		t.Errorf("a bad group: %v, want ErrInvalid", err)
	}
	if _, err := s.SetDeviceGroup(ctx, alice, "dev-404", "eng"); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("an unknown device: %v, want ErrNotFound", err)
	}
	if _, err := s.SetDeviceGroup(ctx, alice, "dev-1", "sales"); err != nil {
		t.Errorf("the same group: %v", err)
	}
	d, err := s.SetDeviceGroup(ctx, alice, "dev-1", "eng")
	if err != nil || d.Group != "eng" {
		t.Fatalf("SetDeviceGroup = %+v, %v", d, err)
	}
	if _, err := s.SetDeviceGroup(ctx, admin.Actor{}, "dev-1", ""); err == nil {
		t.Error("a change without an actor succeeded")
	}
	log, err := env.Store.AuditLog(ctx, store.AuditFilter{Action: "device_group_set"})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Actor != "alice" || log[0].RemoteAddr != "192.0.2.7" || log[0].Target != "device:dev-1" ||
		string(log[0].Detail) != `{"from":"sales","hostname":"one","to":"eng"}` {
		t.Errorf("audit log = %+v", log)
	}
	if d, _ := env.Store.DeviceRecord(ctx, "dev-1"); d.Group != "eng" {
		t.Errorf("group %q after a refused change, want eng", d.Group)
	}
}
