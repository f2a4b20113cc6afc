package agentapi

import (
	"math"
	"strings"
	"testing"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestCheckOrder(t *testing.T) {
	ev := func(seq uint64) *vcguardv1.Event {
		return &vcguardv1.Event{Seq: seq, Time: timestamppb.Now(),
			Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: 1}}}
	}
	for _, tc := range []struct {
		name   string
		events []*vcguardv1.Event
		want   string
	}{
		{"in order", []*vcguardv1.Event{ev(1), ev(2), ev(7)}, ""},
		{"largest stored", []*vcguardv1.Event{ev(math.MaxInt64)}, ""},
		{"zero", []*vcguardv1.Event{ev(0)}, "events[0].seq 0 is not above 0"},
		{"repeated", []*vcguardv1.Event{ev(3), ev(3)}, "events[1].seq 3 is not above 3"},
		{"beyond the store", []*vcguardv1.Event{ev(5), ev(math.MaxUint64)}, "events[1].seq 18446744073709551615 is above 2^63-1"},
		{"no time", []*vcguardv1.Event{{Seq: 1, Detail: ev(1).Detail}}, "events[0].time is missing"},
	} {
		err := checkOrder(tc.events)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: checkOrder = %v, want %q", tc.name, err, tc.want)
		}
	}
}
