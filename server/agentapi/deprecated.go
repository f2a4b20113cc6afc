package agentapi

import (
	"log/slog"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
)

// ReasonEventUnknownValue: an event stored with a typed value (an action,
// the kind of a camera or microphone finding) this server does not know;
// a value of vcguard_refused_total's reason.
const ReasonEventUnknownValue = "event_unknown_value"

// resolveEvents reads the typed fields of each event (actions, kinds of
// camera and microphone findings) first, and the deprecated strings they
// replace when they are unspecified (an agent of the last release sends
// only the strings), and makes both agree (policies.ResolveDeprecated):
// what is stored holds the same strings, and the typed values too,
// whichever agent sent it.
//
// An event with a typed value this server does not know (an agent newer
// than the server, or a forged event) is stored as sent, the value and
// the string beside it untouched, and not refused: the agent keeps an
// event until it is acknowledged, so refusing its batch would stop the
// device's queue for ever (see limitEvent) over a value a newer server
// will read. Events above stored (not resent) are counted as refused
// (ReasonEventUnknownValue) and logged, sampled, naming the field.
func (s *Server) resolveEvents(deviceID string, events []*vcguardv1.Event, stored uint64) {
	for _, e := range events {
		err := policies.ResolveDeprecated(e)
		if err == nil || e.GetSeq() <= stored {
			continue
		}
		s.Metrics.Refused(ReasonEventUnknownValue)
		s.sampler.Log(slog.LevelWarn, ReasonEventUnknownValue,
			"event stored with a value this server does not know; is the agent newer than the server? (sampled)",
			"device", deviceID, "seq", e.GetSeq(), "type", store.EventType(e), "err", err)
	}
}
