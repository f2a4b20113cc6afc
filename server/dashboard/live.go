package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vcguard/vcguard/server/admin"
)

// The live updates: GET /live/events is a stream of server-sent events
// that says what a page shows has changed. It is bounded (streams in all
// and per session, a lifetime after which the browser reconnects, one
// snapshot a tick) and ends within a tick of the session's end (logout,
// expiry, a disabled account).
const (
	liveTick = 3 * time.Second
	// liveLifetime is how long one stream lasts; EventSource reconnects.
	liveLifetime = 5 * time.Minute
	// liveKeepAlive is the longest silence on a stream.
	liveKeepAlive = 15 * time.Second
	// maxLiveStreams bounds the open streams of this replica,
	// maxLiveStreamsPerSession those of one session (a few tabs).
	maxLiveStreams           = 200
	maxLiveStreamsPerSession = 4
	liveWriteTimeout         = 10 * time.Second
)

// liveStreams counts the open streams.
type liveStreams struct {
	mu    sync.Mutex
	total int
	per   map[string]int // by session hash
	// ending is closed by EndStreams.
	ending  chan struct{}
	endOnce sync.Once
}

// ended is closed when the streams are to end (the server shuts down).
func (l *liveStreams) ended() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ending == nil {
		l.ending = make(chan struct{})
	}
	return l.ending
}

// EndStreams ends every live stream (each tells its browser to reconnect,
// to another replica if this one is going away), so that a graceful
// shutdown does not wait for them: pass it to http.Server.RegisterOnShutdown.
func (d *Dashboard) EndStreams() {
	ch := d.streams.ended()
	d.streams.endOnce.Do(func() { close(ch) })
}

// acquire takes a stream slot for session; false when none is free.
func (l *liveStreams) acquire(session string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.per == nil {
		l.per = map[string]int{}
	}
	if l.total >= maxLiveStreams || l.per[session] >= maxLiveStreamsPerSession {
		return false
	}
	l.total++
	l.per[session]++
	return true
}

func (l *liveStreams) release(session string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.per[session]--; l.per[session] <= 0 {
		delete(l.per, session)
	}
}

// liveSnapshot is what one page of the stream shows, sent when it changes.
type liveSnapshot struct {
	liveJSON
	// Breakdown is the overview's (view=overview).
	Breakdown *admin.FleetBreakdown `json:"breakdown,omitempty"`
	// Device is the device page's device (view=device).
	Device any `json:"device,omitempty"`
}

// liveView reads what a stream's query asks for: view=devices with the
// devices list's filters (the default), view=overview, or view=device
// with id=.
type liveView struct {
	view, id string
}

func parseLiveView(r *http.Request) (liveView, error) {
	q := r.URL.Query()
	v := liveView{view: q.Get("view"), id: q.Get("id")}
	switch v.view {
	case "", "devices":
		if _, _, err := parseDeviceView(q, pageLimit); err != nil {
			return v, err
		}
	case "overview":
	case "device":
		if v.id == "" {
			return v, &badParam{"id", "", "view=device needs the device id"}
		}
	default:
		return v, &badParam{"view", v.view, "want devices, overview or device"}
	}
	return v, nil
}

// snapshot reads what the view shows now.
func (d *Dashboard) snapshot(r *http.Request, v liveView) (liveSnapshot, error) {
	var out liveSnapshot
	c, err := d.countFleet(r)
	if err != nil {
		return out, err
	}
	out.Counters = c
	switch v.view {
	case "overview":
		b, err := d.svc().Breakdown(r.Context(), topRows)
		if err != nil {
			return out, err
		}
		out.Breakdown = &b
	case "device":
		dev, err := d.svc().Device(r.Context(), v.id)
		if err != nil {
			return out, err
		}
		out.Device = dev
	default:
		_, q, shown, pg, err := d.fleetPage(r, pageLimit)
		if err != nil {
			return out, err
		}
		if out.Shown, err = d.svc().CountDevices(r.Context(), q); err != nil {
			return out, err
		}
		out.Devices, out.NextCursor = shown, pg.Next
	}
	return out, nil
}

// liveEvents streams a "live" event with the view's snapshot whenever it
// changes, and an "end" event when the session has ended.
func (d *Dashboard) liveEvents(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	v, err := parseLiveView(r)
	if err != nil {
		d.badQuery(w, "live events", err)
		return
	}
	// The first snapshot before the headers: an error is answered as one.
	snap, err := d.snapshot(r, v)
	if errors.Is(err, admin.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.badQuery(w, "live events", err)
		return
	}
	if !d.streams.acquire(string(s.Hash)) {
		d.svc().Metrics.Refused("live_streams")
		w.Header().Set("Retry-After", "30")
		http.Error(w, fmt.Sprintf("too many live streams (at most %d per session, %d in all); the page falls back to polling", maxLiveStreamsPerSession, maxLiveStreams),
			http.StatusServiceUnavailable)
		return
	}
	defer d.streams.release(string(s.Hash))
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var last []byte
	send := func(event string, data []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(liveWriteTimeout))
		var b bytes.Buffer
		if event != "" {
			fmt.Fprintf(&b, "event: %s\n", event)
			// JSON has no raw newline, so one data line carries it.
			fmt.Fprintf(&b, "data: %s\n\n", data)
		} else {
			b.WriteString(": keep-alive\n\n")
		}
		if _, err := w.Write(b.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	emit := func(snap liveSnapshot) bool {
		b, err := json.Marshal(snap)
		if err != nil {
			d.Logger.Error("live events", "err", err)
			return false
		}
		if bytes.Equal(b, last) {
			return true
		}
		last = b
		return send("live", b)
	}
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", liveTick.Milliseconds()); err != nil || !emit(snap) {
		return
	}
	// A client that did not ask for a stream (EventSource does) gets the
	// one snapshot.
	if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		send("end", []byte(`"once"`))
		return
	}
	tick := time.NewTicker(liveTick)
	defer tick.Stop()
	end := time.NewTimer(liveLifetime)
	defer end.Stop()
	quiet := time.Now()
	ending := d.streams.ended()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ending:
			send("end", []byte(`"renew"`))
			return
		case <-end.C:
			send("end", []byte(`"renew"`))
			return
		case <-tick.C:
		}
		// The session may have ended since the last tick.
		if _, err := d.svc().Session(r.Context(), s.Hash, time.Now()); err != nil {
			if errors.Is(err, admin.ErrNotFound) {
				send("end", []byte(`"session"`))
			} else {
				d.Logger.Error("live events: session", "err", err)
			}
			return
		}
		snap, err := d.snapshot(r, v)
		if err != nil {
			if !errors.Is(err, admin.ErrNotFound) && r.Context().Err() == nil {
				d.Logger.Error("live events", "err", err)
			}
			return
		}
		before := last
		if !emit(snap) {
			return
		}
		if !bytes.Equal(before, last) {
			quiet = time.Now()
		} else if time.Since(quiet) >= liveKeepAlive {
			if !send("", nil) {
				return
			}
			quiet = time.Now()
		}
	}
}
