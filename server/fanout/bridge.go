package fanout

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Source is what a Bridge needs of the store: its notices and the state
// they point at. *store.Store implements it.
type Source interface {
	Listen(ctx context.Context, listening func(), handle func(store.Notice)) error
	Policy(ctx context.Context, version uint64) (store.PolicyVersion, error)
	CurrentPolicy(ctx context.Context) (store.PolicyVersion, error)
	Catalog(ctx context.Context, version uint64) (store.CatalogVersion, error)
	CurrentCatalog(ctx context.Context) (store.CatalogVersion, error)
	RevokedDevices(ctx context.Context) ([]string, error)
}

// Reconnect backoff of a Bridge.
const (
	bridgeMinBackoff = 100 * time.Millisecond
	bridgeMaxBackoff = 30 * time.Second
)

// Bridge carries what other replicas publish and revoke into this
// process's Hub: PostgreSQL LISTEN/NOTIFY on one dedicated connection.
// Each notice names a change that is already committed; the Bridge loads it
// from the store (a policy is pushed exactly as stored and signed) and
// hands it to the Hub. When the connection fails it reconnects with
// backoff, and on every (re)connect it reloads the current policy and the
// revoked devices, since notices sent meanwhile are lost.
type Bridge struct {
	Hub    *Hub
	Store  Source
	Logger *slog.Logger
	// OnCatalog, when set, is called after a catalog version published
	// elsewhere was handed to the Hub (and at every resync), e.g. to load
	// it as the catalog policies are validated against.
	OnCatalog func(ctx context.Context)
}

// Run listens until ctx ends. On a store without notices (SQLite: one
// server, everything goes through the Hub directly) it returns at once.
func (b *Bridge) Run(ctx context.Context) {
	backoff := bridgeMinBackoff
	for {
		start := time.Now()
		err := b.Store.Listen(ctx, func() {
			b.Logger.Info("listening for policy changes and revocations from other replicas")
			b.Resync(ctx)
		}, func(n store.Notice) { b.handle(ctx, n) })
		if ctx.Err() != nil || err == nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = bridgeMinBackoff
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		b.Logger.Warn("lost the connection that hears other replicas; reconnecting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, bridgeMaxBackoff)
	}
}

func (b *Bridge) handle(ctx context.Context, n store.Notice) {
	switch n.Kind {
	case store.NoticePolicy:
		p, err := b.Store.Policy(ctx, n.Version)
		if err != nil {
			b.Logger.Error("load published policy", "version", n.Version, "err", err)
			return
		}
		b.Hub.Publish(SignedPolicy(p))
	case store.NoticeCatalog:
		c, err := b.Store.Catalog(ctx, n.Version)
		if err != nil {
			b.Logger.Error("load published catalog", "version", n.Version, "err", err)
			return
		}
		b.Hub.PublishCatalog(SignedCatalog(c))
		if b.OnCatalog != nil {
			b.OnCatalog(ctx)
		}
	case store.NoticeRevoke:
		if cut := b.Hub.Revoke(n.Device); cut > 0 {
			b.Logger.Info("revoked device cut off", "device", n.Device, "streams", cut)
		}
	case store.NoticeStream:
		if ended := b.Hub.Heard(n.Device, n.Version); ended > 0 {
			b.Logger.Info("stream replaced by a newer connection of the device on another replica", "device", n.Device, "streams", ended)
		}
	}
}

// Resync hands the Hub the current policy and cuts off every revoked
// device still connected here: what notices lost meanwhile would have done.
// Streams whose announcement may have been lost count as announced.
func (b *Bridge) Resync(ctx context.Context) {
	b.Hub.AnnouncedAll()
	if p, err := b.Store.CurrentPolicy(ctx); err == nil {
		b.Hub.Publish(SignedPolicy(p))
	} else if ctx.Err() == nil {
		b.Logger.Warn("resync: load current policy", "err", err)
	}
	if c, err := b.Store.CurrentCatalog(ctx); err == nil {
		b.Hub.PublishCatalog(SignedCatalog(c))
		if b.OnCatalog != nil {
			b.OnCatalog(ctx)
		}
	} else if ctx.Err() == nil {
		b.Logger.Warn("resync: load current catalog", "err", err)
	}
	revoked, err := b.Store.RevokedDevices(ctx)
	if err != nil {
		if ctx.Err() == nil {
			b.Logger.Warn("resync: load revoked devices", "err", err)
		}
		return
	}
	for _, id := range revoked {
		if cut := b.Hub.Revoke(id); cut > 0 {
			b.Logger.Info("revoked device cut off", "device", id, "streams", cut)
		}
	}
}

// SignedPolicy converts a stored policy version to its wire form.
func SignedPolicy(p store.PolicyVersion) *vcguardv1.SignedPolicy {
	return &vcguardv1.SignedPolicy{
		Version: p.Version, Document: p.Document, Signature: p.Signature, Published: timestamppb.New(p.Published),
	}
}

// SignedCatalog converts a stored catalog version to its wire form.
func SignedCatalog(c store.CatalogVersion) *vcguardv1.SignedCatalog {
	return &vcguardv1.SignedCatalog{
		Version: c.Version, Bundle: c.Bundle, Signature: c.Signature, Published: timestamppb.New(c.Published),
	}
}
