package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

func TestCatalogsSQLite(t *testing.T) {
	t.Parallel()
	testCatalogs(t, openSQLite(t))
}

func TestCatalogsPostgres(t *testing.T) {
	t.Parallel()
	postgresDSN(t)
	testCatalogs(t, openPostgres(t))
}

func signFake(version uint64, bundle []byte) []byte {
	return fmt.Appendf(nil, "sig-%d-%d", version, len(bundle))
}

// testCatalogs: versions are the catalog's own numbers, a version not above
// the newest is refused (and leaves no audit entry), seeding stores only a
// newer version, and a device's reported version is kept.
func testCatalogs(t *testing.T, s *store.Store) {
	ctx := t.Context()
	if _, err := s.CurrentCatalog(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CurrentCatalog of an empty store: %v, want ErrNotFound", err)
	}
	if v, err := s.CurrentCatalogVersion(ctx); err != nil || v != 0 {
		t.Fatalf("CurrentCatalogVersion of an empty store = %d, %v", v, err)
	}
	seeded, ok, err := s.SeedCatalog(ctx, store.CatalogVersion{Version: 3, Bundle: []byte("bundle-3"), Apps: 45, Published: at(0), PublishedBy: "system"},
		signFake, change("catalog_seed"))
	if err != nil || !ok || seeded.Version != 3 || string(seeded.Signature) != "sig-3-8" {
		t.Fatalf("SeedCatalog = %+v, %v, %v", seeded, ok, err)
	}
	// The same or an older embedded version again: nothing stored.
	for _, v := range []uint64{3, 2} {
		if _, ok, err := s.SeedCatalog(ctx, store.CatalogVersion{Version: v, Bundle: []byte("x"), Apps: 1, Published: at(time.Hour), PublishedBy: "system"},
			signFake, change("catalog_seed")); err != nil || ok {
			t.Fatalf("SeedCatalog(%d) again = %v, %v", v, ok, err)
		}
	}
	c, err := s.PublishCatalog(ctx, store.CatalogVersion{Version: 7, Bundle: []byte("bundle-7"), Apps: 46, Published: at(2 * time.Hour), PublishedBy: "alice"},
		signFake, change("catalog_publish"))
	if err != nil || c.Version != 7 || string(c.Signature) != "sig-7-8" {
		t.Fatalf("PublishCatalog(7) = %+v, %v", c, err)
	}
	for _, v := range []uint64{7, 5} {
		_, err := s.PublishCatalog(ctx, store.CatalogVersion{Version: v, Bundle: []byte("old"), Apps: 1, Published: at(3 * time.Hour), PublishedBy: "alice"},
			signFake, change("catalog_publish"))
		if !errors.Is(err, store.ErrCatalogNotNewer) || !strings.Contains(err.Error(), "the current one is 7") {
			t.Fatalf("PublishCatalog(%d) = %v, want ErrCatalogNotNewer", v, err)
		}
	}
	cur, err := s.CurrentCatalog(ctx)
	if err != nil || cur.Version != 7 || !bytes.Equal(cur.Bundle, []byte("bundle-7")) || cur.Apps != 46 || cur.PublishedBy != "alice" {
		t.Fatalf("CurrentCatalog = %+v, %v", cur, err)
	}
	sameTime(t, "Published", cur.Published, at(2*time.Hour))
	if v, err := s.CurrentCatalogVersion(ctx); err != nil || v != 7 {
		t.Fatalf("CurrentCatalogVersion = %d, %v", v, err)
	}
	if c3, err := s.Catalog(ctx, 3); err != nil || string(c3.Bundle) != "bundle-3" {
		t.Fatalf("Catalog(3) = %+v, %v", c3, err)
	}
	if _, err := s.Catalog(ctx, 4); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Catalog(4) = %v", err)
	}
	list, err := s.Catalogs(ctx)
	if err != nil || len(list) != 2 || list[0].Version != 7 || list[1].Version != 3 || list[0].Bundle != nil {
		t.Fatalf("Catalogs = %+v, %v", list, err)
	}
	// One audit entry per stored version, none for a refusal.
	for action, want := range map[string][]string{"catalog_seed": {"catalog:3"}, "catalog_publish": {"catalog:7"}} {
		entries, err := s.AuditLog(ctx, store.AuditFilter{Action: action})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Target)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("audit %s targets = %v, want %v", action, got, want)
		}
	}

	// Concurrent publishers of one number: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 4 {
		wg.Go(func() {
			_, err := s.PublishCatalog(ctx, store.CatalogVersion{Version: 8, Bundle: []byte("b8"), Apps: 1, Published: at(4 * time.Hour), PublishedBy: fmt.Sprint(i)},
				signFake, change("catalog_publish"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrCatalogNotNewer):
				t.Errorf("concurrent publish: %v", err)
			}
		})
	}
	wg.Wait()
	if v, _ := s.CurrentCatalogVersion(ctx); wins != 1 || v != 8 {
		t.Errorf("concurrent publishers: %d won, current %d", wins, v)
	}

	newDevice(t, s, "dev_cat", "laptop")
	if d, err := s.DeviceRecord(ctx, "dev_cat"); err != nil || d.CatalogVersion != 0 {
		t.Fatalf("new device's catalog version = %d, %v", d.CatalogVersion, err)
	}
	if err := s.SetDeviceCatalogVersion(ctx, "dev_cat", 7); err != nil {
		t.Fatal(err)
	}
	d, err := s.Device(ctx, "dev_cat")
	if err != nil || d.CatalogVersion != 7 {
		t.Fatalf("Device catalog version = %d, %v", d.CatalogVersion, err)
	}
}
