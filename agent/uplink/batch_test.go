package uplink

import (
	"strings"
	"testing"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/proto"
)

func bigEvent(seq uint64, n int) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{
		App: &vcguardv1.AppInstance{Exe: strings.Repeat("x", n)}}}}
}

// A batch is cut where its events would pass the byte bound, keeps at
// least one event, and is left whole when it fits.
func TestCapBatch(t *testing.T) {
	var batch []*vcguardv1.Event
	for i := range 10 {
		batch = append(batch, bigEvent(uint64(i+1), 300<<10))
	}
	got := capBatch(batch, maxBatchBytes)
	total := 0
	for _, e := range got {
		total += proto.Size(e)
	}
	if len(got) != 3 || total > maxBatchBytes {
		t.Errorf("capped to %d events of %d bytes; want 3 within %d", len(got), total, maxBatchBytes)
	}
	if got := capBatch(batch[:1], 1000); len(got) != 1 {
		t.Errorf("a single event over the bound: %d events, want it sent alone", len(got))
	}
	small := []*vcguardv1.Event{bigEvent(1, 10), bigEvent(2, 10)}
	if got := capBatch(small, maxBatchBytes); len(got) != 2 {
		t.Errorf("a small batch: %d events, want 2", len(got))
	}
}
