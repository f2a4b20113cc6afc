package fanout_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/fanout"
	"github.com/vcguard/vcguard/server/store"
)

func TestHubPublishAndRevoke(t *testing.T) {
	t.Parallel()
	h := &fanout.Hub{}
	a1, a2, b := h.Subscribe("dev-a"), h.Subscribe("dev-a"), h.Subscribe("dev-b")
	h.Publish(&vcguardv1.SignedPolicy{Version: 2})
	h.Publish(&vcguardv1.SignedPolicy{Version: 1}) // late notice of an older version
	h.Publish(&vcguardv1.SignedPolicy{Version: 2}) // the same version again
	for _, s := range []*fanout.Subscription{a1, a2, b} {
		if p := <-s.C; p.GetVersion() != 2 {
			t.Errorf("%s got version %d, want 2", s.DeviceID, p.GetVersion())
		}
		select {
		case p := <-s.C:
			t.Errorf("%s got a second update, version %d", s.DeviceID, p.GetVersion())
		default:
		}
	}
	if n := h.Revoke("dev-a"); n != 2 {
		t.Errorf("Revoke cut %d streams, want 2", n)
	}
	if n := h.Revoke("dev-a"); n != 0 {
		t.Errorf("second Revoke cut %d streams, want 0", n)
	}
	for _, s := range []*fanout.Subscription{a1, a2} {
		select {
		case <-s.Revoked:
		default:
			t.Error("a stream of the revoked device is not told")
		}
	}
	select {
	case <-b.Revoked:
		t.Error("another device's stream was cut off")
	default:
	}
	if devs := h.Devices(); len(devs) != 2 {
		t.Errorf("Devices = %v", devs)
	}
}

// fakeSource replays notices on the first connection; before the second,
// it changes what is stored (as other replicas would while the connection
// is down); the third ends the test's Run.
type fakeSource struct {
	notices   []store.Notice
	policies  map[uint64]store.PolicyVersion
	catalogs  map[uint64]store.CatalogVersion
	revoked   []string
	listens   int
	reconnect func(*fakeSource)
}

func (f *fakeSource) Listen(ctx context.Context, listening func(), handle func(store.Notice)) error {
	f.listens++
	switch f.listens {
	case 1:
		listening()
		for _, n := range f.notices {
			handle(n)
		}
		return errors.New("connection lost")
	case 2:
		f.reconnect(f)
		listening()
		return errors.New("connection lost")
	}
	return nil
}

func (f *fakeSource) Policy(_ context.Context, v uint64) (store.PolicyVersion, error) {
	p, ok := f.policies[v]
	if !ok {
		return p, store.ErrNotFound
	}
	return p, nil
}

func (f *fakeSource) CurrentPolicy(context.Context) (store.PolicyVersion, error) {
	var cur store.PolicyVersion
	for _, p := range f.policies {
		if p.Version > cur.Version {
			cur = p
		}
	}
	if cur.Version == 0 {
		return cur, store.ErrNotFound
	}
	return cur, nil
}

func (f *fakeSource) RevokedDevices(context.Context) ([]string, error) { return f.revoked, nil }

func (f *fakeSource) Catalog(_ context.Context, v uint64) (store.CatalogVersion, error) {
	c, ok := f.catalogs[v]
	if !ok {
		return c, store.ErrNotFound
	}
	return c, nil
}

func (f *fakeSource) CurrentCatalog(context.Context) (store.CatalogVersion, error) {
	var cur store.CatalogVersion
	for _, c := range f.catalogs {
		if c.Version > cur.Version {
			cur = c
		}
	}
	if cur.Version == 0 {
		return cur, store.ErrNotFound
	}
	return cur, nil
}

// The bridge pushes noticed policies, cuts off noticed revocations, and
// after a reconnect catches up on what it may have missed.
func TestBridge(t *testing.T) {
	t.Parallel()
	h := &fanout.Hub{}
	subA, subB := h.Subscribe("dev-a"), h.Subscribe("dev-b")
	src := &fakeSource{
		notices:  []store.Notice{{Kind: store.NoticePolicy, Version: 1}, {Kind: store.NoticeRevoke, Device: "dev-a"}, {Kind: store.NoticeCatalog, Version: 4}},
		policies: map[uint64]store.PolicyVersion{1: {Version: 1, Document: []byte("v1")}},
		catalogs: map[uint64]store.CatalogVersion{4: {Version: 4, Bundle: []byte("c4")}},
		reconnect: func(f *fakeSource) {
			f.policies[2] = store.PolicyVersion{Version: 2, Document: []byte("v2")}
			f.catalogs[5] = store.CatalogVersion{Version: 5, Bundle: []byte("c5")}
			f.revoked = []string{"dev-a", "dev-b"}
		},
	}
	catalogs := 0
	b := &fanout.Bridge{Hub: h, Store: src, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnCatalog: func(context.Context) { catalogs++ }}
	b.Run(t.Context())
	// The resync at each of the two connections, and the noticed catalog.
	if catalogs != 3 {
		t.Errorf("OnCatalog called %d times, want 3", catalogs)
	}
	if src.listens != 3 {
		t.Errorf("Listen called %d times, want reconnects after lost connections", src.listens)
	}
	select {
	case <-subA.Revoked:
	default:
		t.Error("dev-a not cut off by its notice")
	}
	select {
	case <-subB.Revoked:
	default:
		t.Error("dev-b, revoked while the connection was down, not cut off after the reconnect")
	}
	if p := <-subB.C; p.GetVersion() != 2 {
		t.Errorf("dev-b's newest update is version %d, want 2 (published while the connection was down)", p.GetVersion())
	}
	if c := <-subB.Catalog; c.GetVersion() != 5 || string(c.GetBundle()) != "c5" {
		t.Errorf("dev-b's newest catalog is version %d, want 5 (published while the connection was down)", c.GetVersion())
	}
}

// PublishCatalog keeps the newest undelivered version per stream and
// ignores one not above the highest published.
func TestHubPublishCatalog(t *testing.T) {
	t.Parallel()
	h := &fanout.Hub{}
	s := h.Subscribe("dev")
	h.PublishCatalog(&vcguardv1.SignedCatalog{Version: 3})
	h.PublishCatalog(&vcguardv1.SignedCatalog{Version: 5})
	h.PublishCatalog(&vcguardv1.SignedCatalog{Version: 4}) // late, older
	if c := <-s.Catalog; c.GetVersion() != 5 {
		t.Fatalf("got version %d, want 5", c.GetVersion())
	}
	select {
	case c := <-s.Catalog:
		t.Fatalf("version %d delivered after the newest", c.GetVersion())
	default:
	}
}

// TestClaim: the newest stream of a device wins, whichever claims first;
// other devices are untouched.
func TestClaim(t *testing.T) {
	h := &fanout.Hub{}
	other := h.Subscribe("d2")
	h.Claim(other)
	old := h.Subscribe("d1")
	h.Claim(old)
	a := h.Subscribe("d1")
	b := h.Subscribe("d1")
	// b (newer) claims before a: a loses when it claims.
	if n := h.Claim(b); n != 2 { // old and a
		t.Errorf("Claim(b) replaced %d, want 2", n)
	}
	if n := h.Claim(a); n != 0 {
		t.Errorf("Claim(a) replaced %d more, want 0 (a was replaced already)", n)
	}
	for name, s := range map[string]*fanout.Subscription{"old": old, "a": a} {
		select {
		case <-s.Replaced:
		default:
			t.Errorf("%s not replaced", name)
		}
	}
	for name, s := range map[string]*fanout.Subscription{"b": b, "other": other} {
		select {
		case <-s.Replaced:
			t.Errorf("%s replaced", name)
		default:
		}
	}
}

func replaced(s *fanout.Subscription) bool {
	select {
	case <-s.Replaced:
		return true
	default:
		return false
	}
}

// TestHeard: announcements heard from the shared database order a
// device's streams across replicas; the last heard wins.
func TestHeard(t *testing.T) {
	t.Parallel()
	h := &fanout.Hub{}
	other := h.Subscribe("d2")
	h.Claim(other)
	h.Heard("d2", other.Stream)

	// A stream here, heard back: a later announcement from another
	// replica ends it, and only it.
	a := h.Subscribe("d1")
	h.Claim(a)
	if n := h.Heard("d1", a.Stream); n != 0 || replaced(a) {
		t.Fatalf("its own announcement ended %d streams", n)
	}
	if n := h.Heard("d1", 12345); n != 1 || !replaced(a) {
		t.Fatalf("another replica's announcement ended %d streams (a replaced: %v), want 1", n, replaced(a))
	}
	if replaced(other) {
		t.Error("another device's stream was ended")
	}

	// A stream here whose announcement is still on its way is newer than
	// what is heard meanwhile: it stays, and its own announcement comes.
	b := h.Subscribe("d1")
	h.Claim(b)
	if n := h.Heard("d1", 777); n != 0 || replaced(b) {
		t.Fatalf("an older remote announcement ended the newer stream b (%d)", n)
	}
	h.Heard("d1", b.Stream)

	// A stale announcement of a stream a newer local one replaced ends
	// nothing.
	c := h.Subscribe("d1")
	h.Claim(c) // replaces b here
	h.Heard("d1", c.Stream)
	if !replaced(b) || replaced(c) {
		t.Fatal("the local claim did not keep the newest stream")
	}
	if n := h.Heard("d1", b.Stream); n != 0 || replaced(c) {
		t.Fatalf("b's late announcement ended %d streams (c replaced: %v)", n, replaced(c))
	}

	// A stream whose announcement was never heard (the channel was down)
	// counts as announced after AnnouncedAll.
	d := h.Subscribe("d3")
	h.Claim(d)
	h.AnnouncedAll()
	if n := h.Heard("d3", 99); n != 1 || !replaced(d) {
		t.Fatalf("after AnnouncedAll, a remote announcement ended %d streams", n)
	}
}

// SetGroup reaches every stream of the device and no other, keeping only
// the newest undelivered group.
func TestSetGroup(t *testing.T) {
	h := &fanout.Hub{}
	a1, a2, b := h.Subscribe("dev-a"), h.Subscribe("dev-a"), h.Subscribe("dev-b")
	if n := h.SetGroup("dev-a", "radiology"); n != 2 {
		t.Fatalf("SetGroup reached %d streams, want the 2 of dev-a", n)
	}
	h.SetGroup("dev-a", "cardiology")
	for _, s := range []*fanout.Subscription{a1, a2} {
		select {
		case g := <-s.Group:
			if g != "cardiology" {
				t.Errorf("stream got group %q, want the newest, cardiology", g)
			}
		default:
			t.Error("a stream of dev-a got no group")
		}
	}
	select {
	case g := <-b.Group:
		t.Errorf("dev-b got group %q", g)
	default:
	}
}
