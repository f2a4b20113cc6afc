// Package fanout delivers policy updates to every agent stream connected to
// this server process.
package fanout

import (
	"sync"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// Hub is the set of connected agent streams. The zero value is ready to use.
type Hub struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription receives the newest policy for one stream. Only the latest
// update is kept: a slow stream skips versions it no longer needs.
type Subscription struct {
	DeviceID string
	C        chan *vcguardv1.SignedPolicy
}

// Subscribe registers a stream; call Unsubscribe when it ends.
func (h *Hub) Subscribe(deviceID string) *Subscription {
	s := &Subscription{DeviceID: deviceID, C: make(chan *vcguardv1.SignedPolicy, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = make(map[*Subscription]struct{})
	}
	h.subs[s] = struct{}{}
	return s
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

// Publish hands a policy to every stream without blocking.
func (h *Hub) Publish(p *vcguardv1.SignedPolicy) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case <-s.C: // drop an older, undelivered version
		default:
		}
		s.C <- p
	}
}
