// Package fanout delivers policy updates to every agent stream connected to
// this server process, and cuts off the streams of revoked devices. With
// several replicas on one PostgreSQL database, a Bridge feeds the Hub with
// what the other replicas publish and revoke.
package fanout

import (
	"math/rand/v2"
	"sync"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// Hub is the set of connected agent streams. The zero value is ready to use.
type Hub struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
	// latest is the highest policy version published: an older one
	// arriving late (a notice after the local publish) is not pushed.
	latest uint64
	// latestCatalog is the same for catalog versions.
	latestCatalog uint64
	seq           uint64
}

// Subscription receives the newest policy for one stream. Only the latest
// update is kept: a slow stream skips versions it no longer needs.
type Subscription struct {
	DeviceID string
	C        chan *vcguardv1.SignedPolicy
	// Catalog receives the newest catalog version, as C the newest
	// policy.
	Catalog chan *vcguardv1.SignedCatalog
	// Group receives the device's group when an admin changes it (the
	// newest undelivered one).
	Group chan string
	// Revoked is closed when the device is revoked: the stream must end.
	Revoked chan struct{}
	revoked bool
	// Replaced is closed when a newer stream of the same device claims
	// it (Claim): this stream must end.
	Replaced chan struct{}
	replaced bool
	seq      uint64
	claimed  bool
	// Stream names this stream to the other replicas (random, never 0):
	// a Connect announces it, and every replica that hears of it ends the
	// device's streams announced before (Heard).
	Stream uint64
	// announced: this stream's own announcement was heard back (or could
	// not be sent), so a later announcement of the device ends it.
	announced bool
}

// Subscribe registers a stream; call Unsubscribe when it ends.
func (h *Hub) Subscribe(deviceID string) *Subscription {
	s := &Subscription{DeviceID: deviceID, C: make(chan *vcguardv1.SignedPolicy, 1), Catalog: make(chan *vcguardv1.SignedCatalog, 1), Group: make(chan string, 1),
		Revoked: make(chan struct{}), Replaced: make(chan struct{}),
		Stream: rand.Uint64() | 1}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	s.seq = h.seq
	if h.subs == nil {
		h.subs = make(map[*Subscription]struct{})
	}
	h.subs[s] = struct{}{}
	return s
}

// Claim makes s the one live stream of its device: every older stream of the
// same device is replaced (its Replaced channel closes). Of streams claiming
// at once the one subscribed last wins: if a newer one has claimed already, s
// itself is replaced. Claim reports how many streams it replaced (s
// included). Claim sees the streams of this process; with replicas, the
// Connect also announces s.Stream to the others, whose Bridge hands the
// announcement to Heard.
func (h *Hub) Claim(s *Subscription) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.claimed = true
	n := 0
	for o := range h.subs {
		if o == s || o.DeviceID != s.DeviceID {
			continue
		}
		if o.seq < s.seq {
			n += o.replace()
		} else if o.claimed {
			n += s.replace()
		}
	}
	return n
}

// replace closes Replaced once; h.mu is held. It reports 1 if it did.
func (s *Subscription) replace() int {
	if s.replaced {
		return 0
	}
	s.replaced = true
	close(s.Replaced)
	return 1
}

// Heard handles the announcement, heard from the shared database, that
// stream of deviceID opened on some replica (this one included). Every
// replica hears the announcements in the same order (PostgreSQL delivers
// notifications in commit order), and the last one heard wins: Heard ends
// the device's streams here whose own announcement was heard before this
// one, and marks the announced stream, if it is here, as heard. A stream
// whose announcement is still on its way is newer than this one and stays;
// its own announcement will end this one. It reports how many streams it
// ended.
//
// Two streams of one device opening on two replicas within the delivery
// delay end up ordered the same way everywhere, so exactly one survives,
// except in the rare case that a local Claim already ended the announced
// stream while an older announcement of another replica was in flight:
// then both may end, and the agent reconnects.
func (h *Hub) Heard(deviceID string, stream uint64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for s := range h.subs {
		if s.DeviceID != deviceID {
			continue
		}
		if s.Stream == stream {
			if s.replaced {
				// Ended here already by a newer local stream, which
				// stays: this announcement is stale.
				return 0
			}
			s.announced = true
		}
	}
	for s := range h.subs {
		if s.DeviceID == deviceID && s.Stream != stream && s.announced && s.claimed {
			n += s.replace()
		}
	}
	return n
}

// Announced marks s as announced although its announcement was not heard
// back (it could not be sent, or the replicas' channel was down), so that
// a later announcement of its device ends it.
func (h *Hub) Announced(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.announced = true
}

// AnnouncedAll marks every claimed stream as announced: after the channel
// to the other replicas was lost, their own announcements may never be
// heard, and anything heard from now on is newer.
func (h *Hub) AnnouncedAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.claimed {
			s.announced = true
		}
	}
}

// Unsubscribe removes a stream.
func (h *Hub) Unsubscribe(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// Connected returns how many streams are registered.
func (h *Hub) Connected() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Publish hands a policy to every stream without blocking. A version at or
// below one published before is dropped: agents only move forward, and the
// same version may come twice (the local publish and the notice of it).
func (h *Hub) Publish(p *vcguardv1.SignedPolicy) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p.GetVersion() <= h.latest {
		return
	}
	h.latest = p.GetVersion()
	for s := range h.subs {
		select {
		case <-s.C: // drop an older, undelivered version
		default:
		}
		s.C <- p
	}
}

// PublishCatalog hands a catalog version to every stream, keeping only the
// newest undelivered one per stream; a version not above the highest
// published is ignored.
func (h *Hub) PublishCatalog(c *vcguardv1.SignedCatalog) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.GetVersion() <= h.latestCatalog {
		return
	}
	h.latestCatalog = c.GetVersion()
	for s := range h.subs {
		select {
		case <-s.Catalog: // drop an older, undelivered version
		default:
		}
		s.Catalog <- c
	}
}

// SetGroup hands the device group of deviceID to its streams here without
// blocking (the newest undelivered one is kept). It reports how many
// streams it reached; a stream on another replica learns the group when
// the agent next connects.
func (h *Hub) SetGroup(deviceID, group string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for s := range h.subs {
		if s.DeviceID != deviceID {
			continue
		}
		select {
		case <-s.Group: // drop an older, undelivered group
		default:
		}
		s.Group <- group
		n++
	}
	return n
}

// Revoke ends every stream of deviceID: their Revoked channels close. It
// reports how many streams were cut off.
func (h *Hub) Revoke(deviceID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for s := range h.subs {
		if s.DeviceID == deviceID && !s.revoked {
			s.revoked = true
			close(s.Revoked)
			n++
		}
	}
	return n
}

// Devices returns the ids of the devices with a stream here.
func (h *Hub) Devices() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := make(map[string]bool, len(h.subs))
	var out []string
	for s := range h.subs {
		if !seen[s.DeviceID] {
			seen[s.DeviceID] = true
			out = append(out, s.DeviceID)
		}
	}
	return out
}
