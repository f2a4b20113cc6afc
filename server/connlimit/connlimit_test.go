package connlimit

import (
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

func TestListenerBounds(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := make(chan string, 100)
	l := &Listener{Listener: inner, Max: 5, PerAddr: 2, OnRefuse: func(reason, addr string) { refused <- reason + " " + addr }}
	defer l.Close()
	accepted := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func(local string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		c, err := d.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	closedAtOnce := func(c net.Conn) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("a connection over the bound was left open")
			}
		}
	}
	dial("127.0.0.2")
	dial("127.0.0.2")
	<-accepted
	second := <-accepted
	closedAtOnce(dial("127.0.0.2"))
	if r := <-refused; r != ReasonConnsPerAddr+" 127.0.0.2" {
		t.Errorf("refusal %q", r)
	}
	// Another loopback address counts on its own.
	for i := 3; i <= 5; i++ {
		dial("127.0.0." + strconv.Itoa(i))
		<-accepted
	}
	closedAtOnce(dial("127.0.0.6"))
	if r := <-refused; r != ReasonConnsTotal+" 127.0.0.6" {
		t.Errorf("refusal %q", r)
	}
	// Closing an admitted connection (twice) frees one place.
	second.Close()
	second.Close()
	if n := l.Open(); n != 4 {
		t.Errorf("%d open after a close, want 4", n)
	}
	dial("127.0.0.2")
	<-accepted
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5":             "127.0.0.1",
		"127.0.0.2:5":             "127.0.0.2",
		"[::ffff:10.0.0.1]:5":     "10.0.0.1",
		"[2001:db8:1:2:3::4]:443": "2001:db8:1:2::/64",
		"not an address":          "not an address",
	} {
		if got := KeyString(in); got != want {
			t.Errorf("KeyString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBuckets(t *testing.T) {
	now := time.Unix(0, 0)
	b := &Buckets{Rate: 1, Burst: 3, MaxKeys: 2, Now: func() time.Time { return now }}
	for i := range 3 {
		if !b.Allow("a") {
			t.Fatalf("call %d within the burst refused", i)
		}
	}
	if b.Allow("a") {
		t.Fatal("call beyond the burst allowed")
	}
	if !b.Allow("b") {
		t.Fatal("another key shares the bucket")
	}
	now = now.Add(time.Second)
	if !b.Allow("a") || b.Allow("a") {
		t.Fatal("want exactly one token after a second")
	}
	b.Allow("b")
	b.Allow("b") // b is not full: it stays tracked
	// Past MaxKeys (a and b are not full), new keys share one bucket.
	for i := range 3 {
		if !b.Allow("new" + strconv.Itoa(i)) {
			t.Fatalf("overflow call %d refused", i)
		}
	}
	if b.Allow("new9") {
		t.Fatal("new keys past MaxKeys are not bounded together")
	}
	// Idle buckets (full again) are forgotten to make room.
	now = now.Add(time.Hour)
	if !b.Allow("fresh") {
		t.Fatal("fresh key refused after the others idled")
	}
	if len(b.buckets) > 2 {
		t.Errorf("%d buckets kept, MaxKeys 2", len(b.buckets))
	}
}

// TestBucketsTakeAndAllowN: Take goes into debt and says how long to wait;
// AllowN takes all or nothing, and a request above Burst only from a full
// bucket.
func TestBucketsTakeAndAllowN(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_000_000, 0)
	b := &Buckets{Rate: 10, Burst: 100, Now: func() time.Time { return now }}
	if d := b.Take("k", 100); d != 0 {
		t.Errorf("Take of the burst waits %v", d)
	}
	if d := b.Take("k", 50); d != 5*time.Second {
		t.Errorf("Take 50 from an empty bucket waits %v, want 5s at 10/s", d)
	}
	now = now.Add(5 * time.Second) // out of debt
	if b.AllowN("k", 1) {
		t.Error("AllowN from an empty bucket")
	}
	if !b.AllowN("other", 1000) {
		t.Error("AllowN above Burst refused from a full bucket")
	}
	if b.AllowN("other", 1) {
		t.Error("the request above Burst did not empty the bucket")
	}
	now = now.Add(time.Second)
	if !b.AllowN("k", 10) || b.AllowN("k", 1) {
		t.Error("AllowN does not take exactly what refilled")
	}
}
