package agentapi

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/connlimit"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// DeviceBudgets bound what one device may make the server store. They are
// kept per device on each server process (a device has one live stream,
// and its budgets outlive the stream, so reconnecting does not refill
// them); a zero field means its default (DefaultDeviceBudgets).
type DeviceBudgets struct {
	// EventsPerSecond is the sustained rate of events a device's stream
	// is served at, and EventBurst how many it may send at once above it.
	// A device over the rate is not refused: the server waits before
	// storing its next batch (and so before reading the one after), which
	// slows the agent through the stream's flow control. An agent
	// draining a backlog of 100,000 events after days offline gets through
	// in about 17 minutes at the default rate.
	EventsPerSecond float64
	EventBurst      float64
	// BytesPerDay bounds the serialized size of the new events a device
	// stores per day (a token bucket refilled over 24 h, so at most twice
	// this in any one day, and this on average). Over it, the stream ends
	// with ResourceExhausted; the agent keeps the events and resends them
	// later.
	BytesPerDay int64
	// MaxString bounds every text inside an event (paths, names,
	// versions, identity, media device and process, …); longer ones are
	// cut, see limitEvent.
	MaxString int
	// MaxEventBytes bounds the serialized size of one event after its
	// texts are cut; an event still above it has its texts and lists cut
	// further until it fits.
	MaxEventBytes int
}

// DefaultDeviceBudgets are the budgets used where DeviceBudgets leaves a
// field zero: 100 events/s sustained with bursts of 2,000 (ten batches of
// the agent's 200), 64 MiB of events per day (a busy laptop stores well
// under 1 MiB; 100,000 backlog events of ~300 bytes are 30 MiB), texts of
// 1 KiB (a path is at most 4 KiB on Linux, but nothing shown needs more),
// and 64 KiB per event (an inventory of 100 running apps is ~30 KiB).
var DefaultDeviceBudgets = DeviceBudgets{
	EventsPerSecond: 100, EventBurst: 2000, BytesPerDay: 64 << 20, MaxString: 1024, MaxEventBytes: 64 << 10,
}

// minEventBytes is the least MaxEventBytes accepted: an event cut to the
// floor of limitEvent (texts of 64 bytes, lists of one) always fits.
const minEventBytes = 4096

// RegisterFlags adds the --device-* and --event-* flags that set b,
// with the defaults as their defaults.
func (b *DeviceBudgets) RegisterFlags(fs *flag.FlagSet) {
	d := DefaultDeviceBudgets
	fs.Float64Var(&b.EventsPerSecond, "device-events-per-sec", d.EventsPerSecond,
		"sustained events per second stored from one device; above it the server slows the device's stream (it is not refused)")
	fs.Float64Var(&b.EventBurst, "device-event-burst", d.EventBurst, "events a device may send at once above --device-events-per-sec")
	fs.Int64Var(&b.BytesPerDay, "device-bytes-per-day", d.BytesPerDay,
		"bytes of events stored from one device per day; over it the device's stream ends with ResourceExhausted and the agent resends later")
	fs.IntVar(&b.MaxString, "event-max-string", d.MaxString, "bytes of any text inside an event; longer texts are cut and marked "+TruncatedMarker)
	fs.IntVar(&b.MaxEventBytes, "event-max-bytes", d.MaxEventBytes, "serialized bytes of one event; a larger one has its texts and lists cut until it fits")
}

// Validate checks b and says what to fix.
func (b DeviceBudgets) Validate() error {
	switch {
	case b.EventsPerSecond < 0 || b.EventBurst < 0 || b.BytesPerDay < 0 || b.MaxString < 0 || b.MaxEventBytes < 0:
		return errors.New("--device-* and --event-* budgets must be positive (0 means the default)")
	case b.EventBurst != 0 && b.EventBurst < maxBatch:
		return fmt.Errorf("--device-event-burst %g: must be at least %d, the largest batch", b.EventBurst, maxBatch)
	case b.MaxString != 0 && b.MaxString < 64:
		return fmt.Errorf("--event-max-string %d: must be at least 64", b.MaxString)
	case b.MaxEventBytes != 0 && b.MaxEventBytes < minEventBytes:
		return fmt.Errorf("--event-max-bytes %d: must be at least %d", b.MaxEventBytes, minEventBytes)
	case b.BytesPerDay != 0 && b.BytesPerDay < int64(max(b.MaxEventBytes, DefaultDeviceBudgets.MaxEventBytes)):
		return fmt.Errorf("--device-bytes-per-day %d: must hold at least one event of --event-max-bytes", b.BytesPerDay)
	}
	return nil
}

func (b DeviceBudgets) withDefaults() DeviceBudgets {
	d := DefaultDeviceBudgets
	if b.EventsPerSecond == 0 {
		b.EventsPerSecond = d.EventsPerSecond
	}
	if b.EventBurst == 0 {
		b.EventBurst = max(d.EventBurst, maxBatch)
	}
	if b.BytesPerDay == 0 {
		b.BytesPerDay = d.BytesPerDay
	}
	if b.MaxString == 0 {
		b.MaxString = d.MaxString
	}
	if b.MaxEventBytes == 0 {
		b.MaxEventBytes = d.MaxEventBytes
	}
	return b
}

// Refusal and throttling reasons of the agent stream, the values of
// vcguard_refused_total's reason.
const (
	// ReasonDeviceEventRate: a batch waited for the device's event rate.
	ReasonDeviceEventRate = "device_event_rate"
	// ReasonDeviceBytesDay: a batch refused, the device's daily bytes used up.
	ReasonDeviceBytesDay = "device_bytes_day"
	// ReasonEventTruncated: an event stored with texts or lists cut.
	ReasonEventTruncated = "event_truncated"
)

// deviceKeys bounds the devices whose budgets one process tracks; only
// enrolled devices (a verified certificate) get one.
const deviceKeys = 1 << 20

// deviceLimits is the per-device state of the budgets.
type deviceLimits struct {
	budgets DeviceBudgets
	events  *connlimit.Buckets
	bytes   *connlimit.Buckets
}

func newDeviceLimits(b DeviceBudgets, now func() time.Time) *deviceLimits {
	b = b.withDefaults()
	return &deviceLimits{
		budgets: b,
		events:  &connlimit.Buckets{Rate: b.EventsPerSecond, Burst: b.EventBurst, MaxKeys: deviceKeys, Now: now},
		bytes: &connlimit.Buckets{Rate: float64(b.BytesPerDay) / (24 * 60 * 60), Burst: float64(b.BytesPerDay),
			MaxKeys: deviceKeys, Now: now},
	}
}

// TruncatedMarker ends every text the server cut to its budget, so that
// whoever reads it sees it is not whole.
const TruncatedMarker = "…[cut]"

// maxList bounds every list inside an event (apps of an inventory, media
// uses, local policy files, PIDs killed) before the size budget applies.
const maxList = 1000

// limitEvent cuts e's texts to maxString bytes and its lists to maxList
// elements and then, while it is still above maxBytes, halves the text
// bound (down to 64 bytes) and then the list bound (down to one). It
// reports whether it changed anything.
//
// Over-long fields are cut rather than refused: the agent keeps an event
// until the server acknowledges it, so refusing the batch that holds it
// would stop the device's queue for ever (a poison pill) over a text that
// is useful as its first kilobyte. What can never be valid (no time, no
// detail, a sequence number out of range) is refused instead (checkOrder).
// A cut text ends with TruncatedMarker; cut lists are counted and logged.
func limitEvent(e *vcguardv1.Event, maxString, maxBytes int) bool {
	changed := limitFields(e.ProtoReflect(), maxString, maxList)
	if proto.Size(e) <= maxBytes {
		return changed
	}
	clone := proto.Clone(e).(*vcguardv1.Event)
	strs, lists := maxString, maxList
	for proto.Size(e) > maxBytes && (strs > 64 || lists > 1) {
		if strs > 64 {
			strs = max(strs/2, 64)
		} else {
			lists = max(lists/2, 1)
		}
		proto.Reset(e)
		proto.Merge(e, clone)
		limitFields(e.ProtoReflect(), strs, lists)
	}
	return true
}

// limitFields cuts every string of m and of the messages it holds to
// maxString bytes, and every list to maxList elements.
func limitFields(m protoreflect.Message, maxString, maxList int) bool {
	changed := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			if l.Len() > maxList {
				l.Truncate(maxList)
				changed = true
			}
			if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
				for i := range l.Len() {
					changed = limitFields(l.Get(i).Message(), maxString, maxList) || changed
				}
			} else if fd.Kind() == protoreflect.StringKind {
				for i := range l.Len() {
					if s := l.Get(i).String(); len(s) > maxString {
						l.Set(i, protoreflect.ValueOfString(cut(s, maxString)))
						changed = true
					}
				}
			}
		case fd.IsMap():
			// No event holds a map; a future one is bounded by size.
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			changed = limitFields(v.Message(), maxString, maxList) || changed
		case fd.Kind() == protoreflect.StringKind:
			if s := v.String(); len(s) > maxString {
				m.Set(fd, protoreflect.ValueOfString(cut(s, maxString)))
				changed = true
			}
		case fd.Kind() == protoreflect.BytesKind:
			if b := v.Bytes(); len(b) > maxString {
				m.Set(fd, protoreflect.ValueOfBytes(b[:maxString:maxString]))
				changed = true
			}
		}
		return true
	})
	return changed
}

// cut shortens s to at most n bytes ending with TruncatedMarker, without
// splitting a UTF-8 sequence.
func cut(s string, n int) string {
	keep := max(n-len(TruncatedMarker), 0)
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + TruncatedMarker
}

// admitBatch applies the device's budgets to a batch about to be stored:
// it cuts over-long events (in place), refuses the batch when the new
// events (those above stored) would exceed the daily bytes, and otherwise
// waits, if the device is over its event rate, until wait says stop. It
// returns a gRPC status error to end the stream with, or nil to store.
func (s *Server) admitBatch(deviceID string, events []*vcguardv1.Event, stored uint64,
	wait func(time.Duration) error) error {
	lim := s.limits
	var newBytes int
	truncated := 0
	for _, e := range events {
		if limitEvent(e, lim.budgets.MaxString, lim.budgets.MaxEventBytes) {
			truncated++
			s.Metrics.Refused(ReasonEventTruncated)
		}
		if e.GetSeq() > stored {
			newBytes += proto.Size(e)
		}
	}
	if truncated > 0 {
		s.sampler.Log(slog.LevelWarn, ReasonEventTruncated, "events stored with texts or lists cut to the budget (sampled)",
			"device", deviceID, "events", truncated, "max_string", lim.budgets.MaxString, "max_event_bytes", lim.budgets.MaxEventBytes)
	}
	if newBytes > 0 && !lim.bytes.AllowN(deviceID, float64(newBytes)) {
		s.Metrics.Refused(ReasonDeviceBytesDay)
		s.sampler.Log(slog.LevelWarn, ReasonDeviceBytesDay, "batch refused: the device used up its daily bytes of events (sampled)",
			"device", deviceID, "batch_bytes", newBytes, "bytes_per_day", lim.budgets.BytesPerDay)
		return status.Errorf(codes.ResourceExhausted,
			"device %s has stored its budget of %d bytes of events for today (this batch: %d bytes); the agent keeps its events and sends them later",
			deviceID, lim.budgets.BytesPerDay, newBytes)
	}
	if d := lim.events.Take(deviceID, float64(len(events))); d > 0 {
		s.Metrics.Refused(ReasonDeviceEventRate)
		s.Metrics.Throttled(ReasonDeviceEventRate, d)
		s.sampler.Log(slog.LevelInfo, ReasonDeviceEventRate, "device over its event rate: its stream is slowed (sampled)",
			"device", deviceID, "wait", d, "events_per_sec", lim.budgets.EventsPerSecond)
		return wait(d)
	}
	return nil
}
