package admin_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/store"
)

// The service checks a device query's order, verdict and last-seen
// bounds, and refuses a cursor of another order.
func TestDeviceQueryChecks(t *testing.T) {
	t.Parallel()
	env := adminapitest.New(t)
	s, ctx := env.Service, t.Context()
	for i, h := range []string{"b", "a", "c"} {
		if err := env.Store.CreateDevice(ctx, store.Device{ID: "dev-" + h, Hostname: h, OS: []string{"linux", "darwin", "linux"}[i], Enrolled: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]struct {
		q    admin.DeviceQuery
		want string
	}{
		"sort":        {admin.DeviceQuery{Sort: "name"}, "sort"},
		"verdict":     {admin.DeviceQuery{Verdict: "bad"}, "verdict"},
		"seen within": {admin.DeviceQuery{SeenWithin: -time.Hour}, "last seen"},
		"seen over":   {admin.DeviceQuery{NotSeenFor: -time.Hour}, "last seen"},
	} {
		if _, err := s.Devices(ctx, c.q); !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalid naming %s", name, err, c.want)
		}
	}
	p, err := s.Devices(ctx, admin.DeviceQuery{Sort: "-os", Limit: 1})
	if err != nil || len(p.Devices) != 1 || p.Devices[0].ID != "dev-c" || p.Next == "" {
		t.Fatalf("first page by OS, descending: %+v, %v", p, err)
	}
	p, err = s.Devices(ctx, admin.DeviceQuery{Sort: "-os", Limit: 1, Cursor: p.Next})
	if err != nil || len(p.Devices) != 1 || p.Devices[0].ID != "dev-b" {
		t.Fatalf("second page: %+v, %v", p, err)
	}
	if _, err := s.Devices(ctx, admin.DeviceQuery{Sort: "os", Cursor: p.Next}); !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), "another sort order") {
		t.Errorf("a cursor of another order: %v", err)
	}
	if _, err := s.Devices(ctx, admin.DeviceQuery{Before: p.Next}); !errors.Is(err, admin.ErrInvalid) {
		t.Errorf("a -os cursor in the default order: %v", err)
	}
}
