package auth

import (
	"errors"
	"testing"
	"time"
)

// The gate: one slot; a clean waiter queued after a dirty one gets the
// slot first; an address over its share, or a wait over the bound, is
// refused at once.
func TestHashGate(t *testing.T) {
	t.Parallel()
	g := newHashGate(1, 1, 2*time.Second)
	ctx := t.Context()
	release, err := g.acquire(ctx, "ip:a", false)
	if err != nil {
		t.Fatal(err)
	}
	var busy *BusyError
	if _, err := g.acquire(ctx, "ip:a", true); !errors.As(err, &busy) {
		t.Fatalf("second place of one address: %v, want busy", err)
	}
	order := make(chan string, 2)
	dirtyQueued := make(chan struct{})
	go func() {
		go func() {
			for {
				g.mu.Lock()
				n := len(g.dirty)
				g.mu.Unlock()
				if n == 1 {
					close(dirtyQueued)
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		r, err := g.acquire(ctx, "ip:dirty", false)
		if err == nil {
			order <- "dirty"
			r()
		}
	}()
	<-dirtyQueued
	done := make(chan struct{})
	go func() {
		defer close(done)
		r, err := g.acquire(ctx, "ip:clean", true)
		if err == nil {
			order <- "clean"
			r()
		}
	}()
	for {
		g.mu.Lock()
		n := len(g.clean)
		g.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	release()
	if first := <-order; first != "clean" {
		t.Errorf("%s waiter served first, want the clean one", first)
	}
	<-order
	<-done

	// A queue whose expected wait is over the bound: refused at once.
	g = newHashGate(1, 4, 2*time.Second)
	g.avg = 3 * time.Second
	release, _ = g.acquire(ctx, "ip:a", true)
	defer release()
	start := time.Now()
	if _, err := g.acquire(ctx, "ip:b", true); !errors.As(err, &busy) || time.Since(start) > time.Second {
		t.Errorf("wait over the bound: %v after %v, want busy at once", err, time.Since(start))
	}
}
