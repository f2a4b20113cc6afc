package admin

// Catalog versions: published like policies (validated here, stored with
// their audit entry, signed with the policy key, pushed to every agent),
// and the catalog policies are validated against.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/fanout"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/store"
)

// MaxCatalogBundleSize bounds a published catalog bundle.
const MaxCatalogBundleSize = policies.MaxCatalogBundleBytes

// ErrCatalogNotNewer refuses a catalog version not above the current one.
var ErrCatalogNotNewer = store.ErrCatalogNotNewer

// catalogCache is the newest stored catalog, loaded: policies are
// validated against it.
type catalogCache struct {
	mu      sync.Mutex
	version uint64
	catalog *policies.Catalog
}

// CurrentCatalog is the catalog policies are validated against: the newest
// published version this service has loaded (RefreshCatalog), else
// Service.Catalog (the embedded one).
func (s *Service) CurrentCatalog() *policies.Catalog {
	s.catalogs.mu.Lock()
	defer s.catalogs.mu.Unlock()
	if s.catalogs.catalog != nil {
		return s.catalogs.catalog
	}
	return s.Catalog
}

// RefreshCatalog loads the newest stored catalog version if it is not the
// one loaded (another replica may have published one) and returns the
// catalog policies are validated against.
func (s *Service) RefreshCatalog(ctx context.Context) (*policies.Catalog, error) {
	v, err := s.Store.CurrentCatalogVersion(ctx)
	if err != nil {
		return s.CurrentCatalog(), err
	}
	s.catalogs.mu.Lock()
	loaded := s.catalogs.version
	s.catalogs.mu.Unlock()
	if v == 0 || v == loaded {
		return s.CurrentCatalog(), nil
	}
	c, err := s.Store.Catalog(ctx, v)
	if err != nil {
		return s.CurrentCatalog(), err
	}
	b, err := policies.ParseCatalogBundle(c.Bundle)
	if err != nil {
		return s.CurrentCatalog(), fmt.Errorf("stored catalog version %d: %w", v, err)
	}
	cat, err := policies.BundleCatalog(b)
	if err != nil {
		return s.CurrentCatalog(), fmt.Errorf("stored catalog: %w", err)
	}
	s.setCatalog(v, cat)
	return cat, nil
}

func (s *Service) setCatalog(version uint64, cat *policies.Catalog) {
	s.catalogs.mu.Lock()
	defer s.catalogs.mu.Unlock()
	if version > s.catalogs.version {
		s.catalogs.version, s.catalogs.catalog = version, cat
	}
}

// SeedCatalog stores the catalog compiled into the server as a signed
// version unless the store holds that version or a newer one, loads the
// newest, and hands it to this replica's streams. Called at start.
func (s *Service) SeedCatalog(ctx context.Context) error {
	b, err := policies.EmbeddedCatalogBundle()
	if err != nil {
		return fmt.Errorf("embedded catalog: %w", err)
	}
	data, err := b.Encode()
	if err != nil {
		return fmt.Errorf("embedded catalog: %w", err)
	}
	cat, err := policies.BundleCatalog(b)
	if err != nil {
		return fmt.Errorf("embedded catalog: %w", err)
	}
	e, err := s.entry(SystemActor, "catalog_seed", "", map[string]any{"apps": len(cat.Apps())})
	if err != nil {
		return err
	}
	_, seeded, err := s.Store.SeedCatalog(ctx, store.CatalogVersion{Version: b.Version, Bundle: data, Apps: len(cat.Apps()),
		Published: s.Now(), PublishedBy: "system (catalog built into the server)"}, s.signCatalog, e)
	if err != nil {
		return fmt.Errorf("seed the embedded catalog version %d: %w", b.Version, err)
	}
	if seeded {
		s.logger().Info("embedded catalog stored", "version", b.Version, "apps", len(cat.Apps()))
	}
	if _, err := s.RefreshCatalog(ctx); err != nil {
		return err
	}
	cur, err := s.Store.CurrentCatalog(ctx)
	if err != nil {
		return err
	}
	switch {
	case cur.Version > b.Version:
		s.logger().Info("a catalog newer than the embedded one is in force", "version", cur.Version, "embedded", b.Version)
	case cur.Version == b.Version && !bytes.Equal(cur.Bundle, data):
		// Entries changed without a new number: agents are not sent
		// them, and policies are validated against the stored ones.
		s.logger().Warn("the catalog built into this server differs from the stored version of the same number; the stored one stays in force: raise the number in policies/catalog/VERSION whenever an entry changes",
			"version", b.Version)
	}
	if s.Hub != nil {
		s.Hub.PublishCatalog(fanout.SignedCatalog(cur))
	}
	return nil
}

func (s *Service) signCatalog(version uint64, bundle []byte) []byte {
	return policies.SignCatalog(s.PolicyKey, version, bundle)
}

// PublishCatalog checks an encoded catalog bundle (every entry, and the
// current policy against it), stores it as a signed version with its audit
// entry, and pushes it to every connected agent. A version not above the
// current one is refused (ErrCatalogNotNewer).
func (s *Service) PublishCatalog(ctx context.Context, by Actor, bundle []byte) (store.CatalogVersion, error) {
	if len(bundle) > MaxCatalogBundleSize {
		return store.CatalogVersion{}, fmt.Errorf("%w: catalog bundle is %d bytes, at most %d are accepted", ErrInvalid, len(bundle), MaxCatalogBundleSize)
	}
	b, err := policies.ParseCatalogBundle(bundle)
	if err != nil {
		return store.CatalogVersion{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	cat, err := policies.BundleCatalog(b)
	if err != nil {
		return store.CatalogVersion{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	prev, err := s.RefreshCatalog(ctx)
	if err != nil {
		return store.CatalogVersion{}, err
	}
	if cur, err := s.Store.CurrentCatalogVersion(ctx); err != nil {
		return store.CatalogVersion{}, err
	} else if b.Version <= cur {
		return store.CatalogVersion{}, fmt.Errorf("%w: version %d, the current one is %d; raise the number in the catalog's VERSION file above %d",
			ErrCatalogNotNewer, b.Version, cur, cur)
	}
	// Agents check the policy against the catalog they are sent: a
	// catalog that drops an app the policy names would be refused by all.
	p, err := s.Store.CurrentPolicy(ctx)
	switch {
	case err == nil:
		if _, err := policies.ParsePolicy(fmt.Sprintf("policy version %d", p.Version), p.Document, cat); err != nil {
			return store.CatalogVersion{}, fmt.Errorf("%w: the current policy does not validate against catalog version %d (publish a policy without what the catalog drops first): %w",
				ErrInvalid, b.Version, err)
		}
	case !errors.Is(err, store.ErrNotFound):
		return store.CatalogVersion{}, err
	}
	added, removed := appDiff(prev, cat)
	e, err := s.entry(by, "catalog_publish", "", map[string]any{"apps": len(cat.Apps()), "added": added, "removed": removed})
	if err != nil {
		return store.CatalogVersion{}, err
	}
	storeDone := s.Metrics.StoreTimer(metrics.OpPublish)
	c, err := s.Store.PublishCatalog(ctx, store.CatalogVersion{Version: b.Version, Bundle: bundle, Apps: len(cat.Apps()),
		Published: s.Now(), PublishedBy: by.Subject}, s.signCatalog, e)
	storeDone()
	if err != nil {
		return c, err
	}
	s.setCatalog(c.Version, cat)
	s.logger().Info("catalog published", "version", c.Version, "apps", c.Apps, "added", added, "removed", removed, "by", by.Subject)
	if s.Hub != nil {
		s.Hub.PublishCatalog(fanout.SignedCatalog(c))
	}
	return c, nil
}

// appDiff lists the app ids of to that from lacks, and the other way round.
func appDiff(from, to *policies.Catalog) (added, removed []string) {
	added, removed = []string{}, []string{}
	if from == nil {
		return added, removed
	}
	for _, a := range to.Apps() {
		if _, ok := from.App(a.ID); !ok {
			added = append(added, a.ID)
		}
	}
	for _, a := range from.Apps() {
		if _, ok := to.App(a.ID); !ok {
			removed = append(removed, a.ID)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// Catalogs lists the newest catalog versions, newest first.
func (s *Service) Catalogs(ctx context.Context) ([]store.CatalogVersion, error) {
	return s.Store.Catalogs(ctx)
}

// CatalogView converts a catalog version for the JSON API.
func CatalogView(c store.CatalogVersion) apitypes.Catalog {
	return apitypes.Catalog{Version: c.Version, Apps: c.Apps, Published: c.Published, PublishedBy: c.PublishedBy}
}
