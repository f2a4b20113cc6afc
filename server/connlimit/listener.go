// Package connlimit bounds what one client can take from the server: a
// listener that caps open connections (in all and per source address),
// token buckets keyed by address or secret, and a sampler that keeps a flood
// of refusals from flooding the log too.
package connlimit

import (
	"net"
	"net/netip"
	"sync"
)

// Refusal reasons, the values of vcguard_refused_total's reason label.
const (
	ReasonConnsTotal   = "conns_total"    // the listener's cap on open connections
	ReasonConnsPerAddr = "conns_per_addr" // one source address has too many open
)

// Listener wraps a net.Listener: a connection beyond Max open connections in
// all, or beyond PerAddr from one source address, is closed as soon as it is
// accepted, and OnRefuse is told why. Accept only returns admitted
// connections; a refused one never reaches the server, so it costs one
// descriptor for microseconds.
type Listener struct {
	net.Listener
	// Max bounds the open connections; 0 means no bound.
	Max int
	// PerAddr bounds the open connections from one source (Key); 0 means
	// no bound.
	PerAddr int
	// OnRefuse, if set, is called (outside any lock) for each refused
	// connection with the reason and the source's key.
	OnRefuse func(reason, addr string)

	mu     sync.Mutex
	open   int
	byAddr map[string]int
}

// Open returns how many admitted connections are open.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Accept returns the next connection within the bounds.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := Key(c.RemoteAddr())
		if reason := l.admit(key); reason != "" {
			c.Close()
			if l.OnRefuse != nil {
				l.OnRefuse(reason, key)
			}
			continue
		}
		return &conn{Conn: c, l: l, key: key}, nil
	}
}

func (l *Listener) admit(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Max > 0 && l.open >= l.Max {
		return ReasonConnsTotal
	}
	if l.PerAddr > 0 && l.byAddr[key] >= l.PerAddr {
		return ReasonConnsPerAddr
	}
	if l.byAddr == nil {
		l.byAddr = make(map[string]int)
	}
	l.open++
	l.byAddr[key]++
	return ""
}

func (l *Listener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byAddr[key]--; l.byAddr[key] <= 0 {
		delete(l.byAddr, key)
	}
}

type conn struct {
	net.Conn
	l    *Listener
	key  string
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

// Key is the source a limit applies to: the IPv4 address (each loopback
// address 127.x.y.z on its own), or the /64 network of an IPv6 address (one
// host usually holds a whole /64, so counting single IPv6 addresses would
// bound nothing). An address that is not IP counts as itself.
func Key(a net.Addr) string {
	if a == nil {
		return ""
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// KeyString is Key for an address in HOST:PORT form.
func KeyString(addr string) string {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return addr
	}
	return Key(net.TCPAddrFromAddrPort(ap))
}
