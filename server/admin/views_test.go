package admin

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
)

// A notice nobody saw shows "sessions": 0 and why, not a missing field
// that reads like "unknown"; one that was displayed shows its sessions
// and an empty failures list.
func TestEventViewUserNotifiedSessions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		n            *vcguardv1.UserNotified
		wantSessions float64
		wantFailures []any
	}{
		{"nobody saw it", &vcguardv1.UserNotified{AppId: "zoom", Verdict: vcguardv1.Verdict_VERDICT_FORBIDDEN, PolicyAction: vcguardv1.Action_ACTION_WARN,
			Failures: []string{`session "2": org.freedesktop.Notifications was not provided`}}, 0, []any{`session "2": org.freedesktop.Notifications was not provided`}},
		{"no notifier", &vcguardv1.UserNotified{AppId: "zoom", Verdict: vcguardv1.Verdict_VERDICT_FORBIDDEN, PolicyAction: vcguardv1.Action_ACTION_WARN,
			Failures: []string{"nobody was told: no notifier is running for the app's user"}}, 0, []any{"nobody was told: no notifier is running for the app's user"}},
		{"displayed", &vcguardv1.UserNotified{AppId: "zoom", Verdict: vcguardv1.Verdict_VERDICT_FORBIDDEN, PolicyAction: vcguardv1.Action_ACTION_WARN,
			Sessions: 2, Lang: "de"}, 2, []any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
			v := EventView(store.StoredEvent{DeviceID: "d1", Seq: 7, Type: "user_notified", Time: at, Received: at,
				Event: &vcguardv1.Event{Seq: 7, Detail: &vcguardv1.Event_UserNotified{UserNotified: tc.n}}})
			if v.AppID != "zoom" {
				t.Errorf("app_id %q, want zoom", v.AppID)
			}
			var detail struct {
				UserNotified map[string]any `json:"user_notified"`
			}
			if err := json.Unmarshal(v.Detail, &detail); err != nil {
				t.Fatalf("detail %s: %v", v.Detail, err)
			}
			got, ok := detail.UserNotified["sessions"]
			if !ok || got != tc.wantSessions {
				t.Errorf("sessions = %v (present %v) in %s, want %v", got, ok, v.Detail, tc.wantSessions)
			}
			if f, ok := detail.UserNotified["failures"].([]any); !ok || !slices.Equal(f, tc.wantFailures) {
				t.Errorf("failures = %v in %s, want %v", detail.UserNotified["failures"], v.Detail, tc.wantFailures)
			}
		})
	}
}
