// Package outbox is the agent's durable event spool. Events are appended to
// a log file (each record length-prefixed and CRC-checked, fsynced before
// Append returns) and stay there until the server acknowledges them, so no
// event is lost when the agent is offline, restarted or killed.
//
// A hand-written log rather than an embedded database: the agent must stay
// within a few MiB of memory, and the access pattern is a plain FIFO.
package outbox

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vcguard/vcguard/internal/atomicfile"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/proto"
)

const (
	logFile   = "events.log"
	ackedFile = "acked"
	// maxRecord bounds one record; larger lengths mean corruption.
	maxRecord = 1 << 20
	// DefaultMaxPending bounds the events kept while offline; beyond it
	// the oldest of the least important are dropped, counted and reported
	// (see Append).
	DefaultMaxPending = 100_000
	// defaultCompactAfter is how many acknowledged records may sit in the
	// log before it is rewritten.
	defaultCompactAfter = 1000
	// maxSeq bounds sequence numbers: a larger one in the log or the acked
	// file is corruption (no agent writes 2^63 events), and the bound keeps
	// next from wrapping around to 0.
	maxSeq = 1 << 63
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Outbox is a durable FIFO of events with sequence numbers.
type Outbox struct {
	dir          string
	maxPending   int
	compactAfter int

	mu      sync.Mutex
	closed  bool
	f       *os.File           // the log; nil after a compaction could not reopen it
	pending []*vcguardv1.Event // unacknowledged, in sequence order
	acked   uint64             // highest acknowledged sequence number
	next    uint64             // next sequence number to assign
	inLog   int                // records in the log file, acknowledged or not
	size    int64              // bytes of complete records in the log file
	torn    bool               // a failed append may have left bytes after size
	// drops counts the events dropped because the spool was full; its
	// file is dropFile.
	drops    dropState
	dropF    *os.File // dropFile, opened for appending; nil until the first drop
	dropSize int64    // bytes of complete lines in dropFile
	// now is the clock of the drop reports; time.Now outside tests.
	now func() time.Time
	// writeFile replaces a file atomically: atomicfile.WriteFile, or a
	// failing one in tests.
	writeFile func(path string, data []byte, perm os.FileMode) error
	notify    chan struct{}
}

// Open opens (creating) the outbox in dir. A record cut short by a crash is
// discarded; every complete record survives.
func Open(dir string, maxPending int) (*Outbox, error) {
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	o := &Outbox{dir: dir, maxPending: maxPending, compactAfter: defaultCompactAfter, notify: make(chan struct{}, 1), writeFile: atomicfile.WriteFile, now: time.Now}
	acked, err := readAcked(filepath.Join(dir, ackedFile))
	if err != nil {
		return nil, err
	}
	o.acked = acked
	o.next = acked + 1
	dead, err := o.openDrops()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, logFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		o.closeDrops()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	good, err := o.load(f, dead)
	if err != nil {
		f.Close()
		o.closeDrops()
		return nil, err
	}
	// Drop a torn tail so new records follow the last good one.
	if err := f.Truncate(good); err != nil {
		f.Close()
		o.closeDrops()
		return nil, fmt.Errorf("outbox: truncate torn tail: %w", err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		o.closeDrops()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	o.f = f
	o.size = good
	if len(o.pending) > 0 {
		o.signal()
	}
	return o, nil
}

// Inspect reads the outbox in dir without changing it (for status output
// while the agent runs).
func Inspect(dir string) (Stats, error) {
	acked, err := readAcked(filepath.Join(dir, ackedFile))
	if err != nil {
		return Stats{}, err
	}
	o := &Outbox{dir: dir, acked: acked, next: acked + 1}
	dead, _, err := o.readDrops()
	if err != nil {
		return Stats{}, err
	}
	f, err := os.Open(filepath.Join(dir, logFile))
	if errors.Is(err, os.ErrNotExist) {
		return o.Stats(), nil
	}
	if err != nil {
		return Stats{}, fmt.Errorf("outbox: %w", err)
	}
	defer f.Close()
	if _, err := o.load(f, dead); err != nil {
		return Stats{}, err
	}
	return o.Stats(), nil
}

// load reads every complete record and returns the offset after the last.
// Reading stops at the first record that is cut short, fails its checksum or
// does not follow its predecessor's sequence number: what follows it cannot
// be trusted. Records whose sequence number is in dead were dropped: they
// stay in the log until the next compaction but are not pending.
func (o *Outbox) load(f io.Reader, dead map[uint64]bool) (int64, error) {
	r := bufio.NewReader(f)
	var off int64
	var hdr [8]byte
	var last uint64
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return off, nil // end of log, or a torn header
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		sum := binary.LittleEndian.Uint32(hdr[4:])
		if n == 0 || n > maxRecord {
			return off, nil
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return off, nil
		}
		if crc32.Checksum(buf, crcTable) != sum {
			return off, nil
		}
		ev := new(vcguardv1.Event)
		if err := proto.Unmarshal(buf, ev); err != nil {
			return off, nil
		}
		if ev.GetSeq() <= last || ev.GetSeq() >= maxSeq {
			return off, nil
		}
		last = ev.GetSeq()
		off += int64(8 + n)
		o.inLog++
		if ev.GetSeq() >= o.next {
			o.next = ev.GetSeq() + 1
		}
		if ev.GetSeq() > o.acked && !dead[ev.GetSeq()] {
			o.pending = append(o.pending, ev)
		}
	}
}

func readAcked(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("outbox: %w", err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err == nil && v >= maxSeq {
		err = fmt.Errorf("sequence number %d is out of range", v)
	}
	if err != nil {
		return 0, fmt.Errorf("outbox: %s is corrupt (%q): %w", path, data, err)
	}
	return v, nil
}

// writeAcked records the highest acknowledged sequence number durably.
// Called with mu held.
func (o *Outbox) writeAcked() error {
	return o.writeFile(filepath.Join(o.dir, ackedFile), []byte(strconv.FormatUint(o.acked, 10)), 0o600)
}

func encode(ev *vcguardv1.Event) ([]byte, error) {
	payload, err := proto.Marshal(ev)
	if err != nil {
		return nil, err
	}
	if len(payload) > maxRecord {
		// Open would take it for corruption and drop it and every later record.
		return nil, fmt.Errorf("event of %d bytes exceeds the record limit of %d bytes", len(payload), maxRecord)
	}
	rec := make([]byte, 8, 8+len(payload))
	binary.LittleEndian.PutUint32(rec[:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(payload, crcTable))
	return append(rec, payload...), nil
}

// Append assigns the next sequence number to ev and stores it durably. The
// outbox keeps its own copy: changing ev afterwards changes nothing stored.
func (o *Outbox) Append(ev *vcguardv1.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.usable(); err != nil {
		return err
	}
	if o.torn {
		if err := o.rollback(); err != nil {
			return fmt.Errorf("outbox: repair after a failed append: %w", err)
		}
	}
	if o.next >= maxSeq {
		return errors.New("outbox: sequence numbers exhausted")
	}
	ev.Seq = o.next
	if err := o.appendLocked(proto.CloneOf(ev)); err != nil {
		return err
	}
	o.signal()
	return nil
}

// appendLocked stores ev (which the outbox owns from now on) and keeps the
// bound. Called with mu held, the log usable and ev.Seq == o.next.
func (o *Outbox) appendLocked(stored *vcguardv1.Event) error {
	if err := o.write(stored); err != nil {
		return err
	}
	o.keepBound()
	return nil
}

// write appends ev to the log durably and to the pending events. Called
// with mu held, the log usable and ev.Seq == o.next.
func (o *Outbox) write(stored *vcguardv1.Event) error {
	rec, err := encode(stored)
	if err != nil {
		return fmt.Errorf("outbox: encode event: %w", err)
	}
	if _, err := o.f.Write(rec); err != nil {
		return o.failedAppend("append", err)
	}
	if err := o.f.Sync(); err != nil {
		return o.failedAppend("sync", err)
	}
	o.size += int64(len(rec))
	o.next++
	o.inLog++
	o.pending = append(o.pending, stored)
	return nil
}

// keepBound drops events while more than maxPending are pending. Called
// with mu held.
func (o *Outbox) keepBound() {
	if len(o.pending) <= o.maxPending {
		return
	}
	for len(o.pending) > o.maxPending {
		// ev is stored: failing the Append now would have the caller
		// record it again. A drop that cannot be written down is undone
		// at the next Open (the event is sent after all, and not counted).
		o.dropOne()
	}
	// While offline the dropped records would otherwise pile up in the log
	// without bound. Rewriting only once they outnumber the pending ones
	// keeps the cost per append constant on average.
	if dead := o.inLog - len(o.pending); dead >= o.compactAfter && dead >= len(o.pending) {
		_ = o.compact()
	}
}

// failedAppend undoes a partly written record, so that it neither hides the
// records appended after it nor comes back at Open with a sequence number
// that the next Append assigns again. Called with mu held.
func (o *Outbox) failedAppend(op string, err error) error {
	o.torn = true
	if rerr := o.rollback(); rerr != nil {
		return fmt.Errorf("outbox: %s: %w (and removing the partial record failed: %v)", op, err, rerr)
	}
	return fmt.Errorf("outbox: %s: %w", op, err)
}

// rollback cuts the log back to its last complete record. Called with mu held.
func (o *Outbox) rollback() error {
	if err := o.f.Truncate(o.size); err != nil {
		return err
	}
	if _, err := o.f.Seek(o.size, io.SeekStart); err != nil {
		return err
	}
	o.torn = false
	return nil
}

func (o *Outbox) signal() {
	select {
	case o.notify <- struct{}{}:
	default:
	}
}

// Notify returns a channel that receives a value after an Append (and at
// Open when events are pending). It is shared: one reader.
func (o *Outbox) Notify() <-chan struct{} { return o.notify }

// Pending returns up to max unacknowledged events with a sequence number
// above after, in order. The events are shared with the outbox: the caller
// must not modify them.
func (o *Outbox) Pending(after uint64, max int) []*vcguardv1.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*vcguardv1.Event
	for _, ev := range o.pending {
		if ev.GetSeq() <= after {
			continue
		}
		if len(out) == max {
			break
		}
		out = append(out, ev)
	}
	return out
}

// Ack records that the server stored every event up to seq; they leave the
// outbox.
func (o *Outbox) Ack(seq uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return errors.New("outbox is closed")
	}
	// An acknowledgement means the server is there: the first after a
	// reconnection tells it what was dropped while it was not.
	defer o.reportDrops()
	if seq <= o.acked {
		return nil
	}
	if seq >= maxSeq {
		return fmt.Errorf("outbox: acknowledgement of sequence number %d is out of range", seq)
	}
	if seq >= o.next {
		// The server has more than we ever wrote: our spool was reset.
		// Continue numbering after the server's.
		o.next = seq + 1
	}
	o.acked = seq
	i := 0
	for i < len(o.pending) && o.pending[i].GetSeq() <= seq {
		i++
	}
	o.pending = o.pending[i:]
	if err := o.writeAcked(); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if len(o.pending) == 0 || o.inLog-len(o.pending) >= o.compactAfter {
		return o.compact()
	}
	return nil
}

// compact rewrites the log with only the pending events. Called with mu held.
//
// The log is closed before it is replaced (Windows refuses to replace a file
// that is open) and reopened after, whether or not the replace worked. If
// the reopen fails, the outbox has no log until a later Append reopens it.
func (o *Outbox) compact() error {
	var buf []byte
	for _, ev := range o.pending {
		rec, err := encode(ev)
		if err != nil {
			return fmt.Errorf("outbox: compact: %w", err)
		}
		buf = append(buf, rec...)
	}
	if o.f != nil {
		if err := o.f.Close(); err != nil {
			return fmt.Errorf("outbox: compact: %w", err)
		}
		o.f = nil
	}
	werr := o.writeFile(filepath.Join(o.dir, logFile), buf, 0o600)
	if werr == nil {
		o.inLog = len(o.pending)
		o.size = int64(len(buf))
		o.torn = false
	}
	if err := o.reopen(); err != nil {
		return fmt.Errorf("outbox: compact: %w", errors.Join(werr, err))
	}
	if werr != nil {
		return fmt.Errorf("outbox: compact: %w", werr)
	}
	// The dropped records are gone from the log: their marks may go too,
	// their counts stay in the summary. Should this fail, the marks stay,
	// and they name records no longer there, which is harmless.
	if err := o.compactDrops(); err != nil {
		return fmt.Errorf("outbox: compact: %w", err)
	}
	return nil
}

// reopen opens the log for appending after its last complete record.
// Called with mu held and o.f nil.
func (o *Outbox) reopen() error {
	f, err := os.OpenFile(filepath.Join(o.dir, logFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	o.f = f
	// Cuts off whatever a failed append left, and positions at the end.
	if err := o.rollback(); err != nil {
		o.torn = true
		return err
	}
	return nil
}

// usable reports whether the outbox can append, reopening a log that a
// compaction left closed. Called with mu held.
func (o *Outbox) usable() error {
	if o.closed {
		return errors.New("outbox is closed")
	}
	if o.f == nil {
		if err := o.reopen(); err != nil {
			return fmt.Errorf("outbox: reopen log: %w", err)
		}
	}
	return nil
}

// Stats describes the outbox.
type Stats struct {
	Pending int
	Acked   uint64
	Next    uint64
	// Dropped counts every event dropped because the outbox was full, and
	// Unreported those of them the server has not been told about yet.
	Dropped    uint64
	Unreported uint64
	// Drops are the dropped events by type, in the order of the types.
	Drops []DropCount
}

// Stats returns counters for status output.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := Stats{Pending: len(o.pending), Acked: o.acked, Next: o.next}
	st.Drops = o.drops.Total.sorted()
	for _, c := range st.Drops {
		st.Dropped += c.Count
	}
	for _, c := range o.drops.Unreported {
		st.Unreported += c.Count
	}
	return st
}

// Close closes the log file.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	o.closeDrops()
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return err
}
