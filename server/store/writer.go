package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// The write path of agent streams (connect, disconnect, heartbeat, ingest)
// goes through one writer goroutine per Store that commits the requests of
// many streams together ("group commit"): one short transaction carries up
// to maxGroupRequests requests, so the database sees a few transactions per
// second, not one per stream, and a SQLite database needs one connection for
// them whatever the number of streams.

const (
	// maxGroupRequests and maxGroupEvents bound one group transaction, so
	// a heartbeat waits for at most one full group before its own.
	maxGroupRequests = 512
	maxGroupEvents   = 4096
	// writeQueue is how many requests may wait for the writer; a stream
	// that finds the queue full waits (or gives up with its context).
	writeQueue = 1024
	// groupTimeout bounds one group transaction, so a database that stops
	// answering fails the waiting streams instead of hanging them.
	groupTimeout = 30 * time.Second
)

// errStoreClosed is returned by a write submitted after Close.
var errStoreClosed = errors.New("store is closed")

type requestKind int

const (
	reqIngest requestKind = iota
	reqConnect
	reqDisconnect
)

// request is one stream's write, waiting for the writer.
type request struct {
	kind   requestKind
	device string
	now    time.Time
	info   *vcguardv1.DeviceInfo // reqConnect
	events []*vcguardv1.Event    // reqIngest, with their payloads
	blobs  [][]byte
	// abandoned is the caller's ctx.Done(): a request whose caller has
	// stopped waiting before the writer took it is dropped unapplied.
	abandoned <-chan struct{}
	// result has room for one outcome, so the writer never blocks on a
	// caller that has gone.
	result chan outcome
}

// outcome is what a request's caller gets back.
type outcome struct {
	last    uint64 // highest sequence number stored (reqIngest)
	err     error
	refused []string // refusal reasons, reported once committed
}

// flushWait is shared by the heartbeats coalesced into one flush: done is
// closed once they are committed (or failed with err).
type flushWait struct {
	done chan struct{}
	err  error
}

// writer owns the goroutine that runs group transactions.
type writer struct {
	db      *sql.DB
	dialect dialect
	refused func(reason string)
	// where names the database in errors ("sqlite database PATH"), so that
	// a full disk or a lost file says which one.
	where string

	reqs chan *request
	wake chan struct{} // a heartbeat is pending; capacity 1
	quit chan struct{} // closed by close: drain and stop
	done chan struct{} // closed when the goroutine has stopped

	// closeMu makes submission and close exclusive: a submitter holds it
	// shared while it enqueues, close takes it exclusively to set closed,
	// so once closed is set no request can still be on its way into reqs
	// and the drain after quit sees every one. The writer goroutine never
	// takes it (it must keep draining while submitters block on a full
	// queue).
	closeMu sync.RWMutex
	closed  bool

	// tmu guards the pending heartbeats: the newest time per device and
	// the wait the next flush completes. Heartbeats are coalesced in
	// memory rather than queued, so they never wait behind ingest.
	tmu     sync.Mutex
	touches map[string]time.Time
	flush   *flushWait

	// stmts holds statements prepared once on db; only the writer
	// goroutine uses it.
	stmts map[string]*sql.Stmt

	// beforeGroup, set by tests before the first write, runs in the
	// writer goroutine before each group is collected, so a test can hold
	// the writer while it queues requests.
	beforeGroup func()
}

func newWriter(db *sql.DB, d dialect, refused func(string)) *writer {
	w := &writer{
		db: db, dialect: d, refused: refused,
		reqs:    make(chan *request, writeQueue),
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		touches: map[string]time.Time{},
		stmts:   map[string]*sql.Stmt{},
	}
	go w.run()
	return w
}

// submit queues r and waits for its outcome. A caller whose ctx ends stops
// waiting; the request is then either dropped unapplied or applied whole,
// never in part (an agent resends what it has not seen acknowledged, and
// the store skips what it already has).
func (w *writer) submit(ctx context.Context, r *request) outcome {
	r.abandoned = ctx.Done()
	r.result = make(chan outcome, 1)
	w.closeMu.RLock()
	if w.closed {
		w.closeMu.RUnlock()
		return outcome{err: errStoreClosed}
	}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		w.closeMu.RUnlock()
		return outcome{err: ctx.Err()}
	}
	w.closeMu.RUnlock()
	select {
	case o := <-r.result:
		return o
	case <-ctx.Done():
		return outcome{err: ctx.Err()}
	}
}

// touch records that device was heard from at now and waits until that is
// committed: with the next group, however many ingest requests are queued.
func (w *writer) touch(ctx context.Context, device string, now time.Time) error {
	w.closeMu.RLock()
	if w.closed {
		w.closeMu.RUnlock()
		return errStoreClosed
	}
	w.tmu.Lock()
	w.touches[device] = now
	if w.flush == nil {
		w.flush = &flushWait{done: make(chan struct{})}
	}
	f := w.flush
	w.tmu.Unlock()
	w.closeMu.RUnlock()
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops taking requests, commits every queued one and the pending
// heartbeats, and waits for the writer goroutine to end.
func (w *writer) close() {
	w.closeMu.Lock()
	already := w.closed
	w.closed = true
	w.closeMu.Unlock()
	if !already {
		close(w.quit)
	}
	<-w.done
	for _, st := range w.stmts {
		st.Close()
	}
}

func (w *writer) run() {
	defer close(w.done)
	for {
		var first *request
		select {
		case first = <-w.reqs:
		case <-w.wake:
		case <-w.quit:
			// Nothing can be submitted any more: drain what is queued.
			for {
				batch := w.collect(nil)
				touches, flush := w.takeTouches()
				if len(batch) == 0 && flush == nil {
					return
				}
				w.round(batch, touches, flush)
			}
		}
		if w.beforeGroup != nil {
			w.beforeGroup()
		}
		batch := w.collect(first)
		touches, flush := w.takeTouches()
		w.round(batch, touches, flush)
	}
}

// collect takes first and whatever else is queued, up to one group's worth;
// requests whose callers stopped waiting are dropped.
func (w *writer) collect(first *request) []*request {
	var batch []*request
	events := 0
	add := func(r *request) {
		select {
		case <-r.abandoned:
			r.result <- outcome{err: context.Canceled}
			return
		default:
		}
		batch = append(batch, r)
		events += len(r.events)
	}
	if first != nil {
		add(first)
	}
	for len(batch) < maxGroupRequests && events < maxGroupEvents {
		select {
		case r := <-w.reqs:
			add(r)
		default:
			return batch
		}
	}
	return batch
}

func (w *writer) takeTouches() (map[string]time.Time, *flushWait) {
	w.tmu.Lock()
	defer w.tmu.Unlock()
	t, f := w.touches, w.flush
	if f == nil {
		return nil, nil
	}
	w.touches, w.flush = map[string]time.Time{}, nil
	return t, f
}

// round commits a group: all of it in one transaction when it can. When that
// fails, the heartbeats are committed on their own and the requests are
// split in halves until the failing ones are alone, so one device's bad
// batch fails only that device.
func (w *writer) round(batch []*request, touches map[string]time.Time, flush *flushWait) {
	if len(batch) == 0 && flush == nil {
		return
	}
	outs, err := w.attempt(batch, touches)
	if err == nil {
		w.deliver(batch, outs)
		if flush != nil {
			close(flush.done)
		}
		return
	}
	if flush != nil {
		if len(batch) > 0 {
			_, err = w.attempt(nil, touches)
		}
		flush.err = fmt.Errorf("record heartbeats: %w", err)
		close(flush.done)
	}
	w.isolate(batch, map[string]bool{})
}

// isolate commits reqs in halves, recursively. A device whose request failed
// gets every later request of this round failed too, so its batches are
// never stored out of order.
func (w *writer) isolate(reqs []*request, failed map[string]bool) {
	var keep []*request
	for _, r := range reqs {
		if failed[r.device] {
			r.result <- outcome{err: fmt.Errorf("device %s: an earlier write of this device failed; resend", r.device)}
			continue
		}
		keep = append(keep, r)
	}
	if len(keep) == 0 {
		return
	}
	outs, err := w.attempt(keep, nil)
	if err == nil {
		w.deliver(keep, outs)
		return
	}
	var be *beginError
	if len(keep) == 1 || errors.As(err, &be) {
		// Not the request's fault when no transaction could start: every
		// request gets the error.
		for _, r := range keep {
			failed[r.device] = true
			r.result <- outcome{err: err}
		}
		return
	}
	mid := len(keep) / 2
	w.isolate(keep[:mid], failed)
	w.isolate(keep[mid:], failed)
}

func (w *writer) deliver(reqs []*request, outs []outcome) {
	for i, r := range reqs {
		if w.refused != nil {
			for _, reason := range outs[i].refused {
				w.refused(reason)
			}
		}
		r.result <- outs[i]
	}
}

// beginError is a failure to start a transaction: the database, not a
// request, is at fault.
type beginError struct{ err error }

func (e *beginError) Error() string { return "begin group transaction: " + e.err.Error() }
func (e *beginError) Unwrap() error { return e.err }

// attempt runs reqs and touches in one transaction. A request-level failure
// that needs no rollback (unknown device) is its outcome's err; any other
// error rolls the whole transaction back and is returned.
func (w *writer) attempt(reqs []*request, touches map[string]time.Time) ([]outcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	if err := w.prepare(ctx); err != nil {
		return nil, &beginError{err}
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, &beginError{err}
	}
	g := &group{w: w, tx: tx, ctx: ctx, stmts: map[string]*sql.Stmt{}}
	outs, err := g.apply(reqs, touches)
	if err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("%s: %w", w.where, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit to %s: %w", w.where, err)
	}
	return outs, nil
}

// prepare prepares every statement of a group transaction, once, before
// the first transaction: on SQLite the writer's only connection is busy
// once a transaction has begun, so nothing could be prepared inside one.
func (w *writer) prepare(ctx context.Context) error {
	for _, q := range groupStatements(w.dialect) {
		if _, ok := w.stmts[q]; ok {
			continue
		}
		st, err := w.db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		w.stmts[q] = st
	}
	return nil
}
