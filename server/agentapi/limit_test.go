package agentapi

import (
	"strings"
	"testing"
	"unicode/utf8"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func app(exe string) *vcguardv1.AppInstance {
	return &vcguardv1.AppInstance{AppId: "zoom", Name: "Zoom", Pid: 42, Exe: exe, Identity: "deb package zoom", Started: timestamppb.Now()}
}

// TestLimitEvent: over-long texts are cut with the marker on a rune
// boundary, lists of a huge inventory are cut until the event fits, and a
// normal event is left alone.
func TestLimitEvent(t *testing.T) {
	t.Parallel()
	const maxString, maxBytes = 1024, 64 << 10
	longExe := "/opt/" + strings.Repeat("é", 100_000) // 2-byte runes: a cut may fall inside one
	hugeInventory := &vcguardv1.Inventory{}
	for range 5000 {
		hugeInventory.Apps = append(hugeInventory.Apps, app("/usr/bin/"+strings.Repeat("z", 900)))
	}
	for _, tc := range []struct {
		name    string
		event   *vcguardv1.Event
		changed bool
		check   func(t *testing.T, e *vcguardv1.Event)
	}{
		{"normal", &vcguardv1.Event{Seq: 1, Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{App: app("/usr/bin/zoom")}}}, false,
			func(t *testing.T, e *vcguardv1.Event) {
				if got := e.GetApp().GetApp().GetExe(); got != "/usr/bin/zoom" {
					t.Errorf("exe = %q", got)
				}
			}},
		{"long exe", &vcguardv1.Event{Seq: 2, Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{App: app(longExe)}}}, true,
			func(t *testing.T, e *vcguardv1.Event) {
				exe := e.GetApp().GetApp().GetExe()
				if len(exe) > maxString || !strings.HasSuffix(exe, TruncatedMarker) || !strings.HasPrefix(exe, "/opt/éé") || !utf8.ValidString(exe) {
					t.Errorf("exe cut to %d bytes %q…, want ≤ %d valid UTF-8 ending in %q", len(exe), exe[:min(len(exe), 20)], maxString, TruncatedMarker)
				}
				if e.GetApp().GetApp().GetAppId() != "zoom" {
					t.Error("a short field was changed")
				}
			}},
		{"media strings", &vcguardv1.Event{Seq: 3, Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{Use: &vcguardv1.MediaUse{
			Kind: "camera", Device: strings.Repeat("d", 5000), Process: strings.Repeat("p", 5000), Source: strings.Repeat("s", 5000)}}}}, true,
			func(t *testing.T, e *vcguardv1.Event) {
				u := e.GetMedia().GetUse()
				for _, s := range []string{u.GetDevice(), u.GetProcess(), u.GetSource()} {
					if len(s) > maxString || !strings.HasSuffix(s, TruncatedMarker) {
						t.Errorf("media text of %d bytes not cut", len(s))
					}
				}
			}},
		{"huge inventory", &vcguardv1.Event{Seq: 4, Detail: &vcguardv1.Event_Inventory{Inventory: hugeInventory}}, true,
			func(t *testing.T, e *vcguardv1.Event) {
				if n := len(e.GetInventory().GetApps()); n == 0 || n >= 5000 {
					t.Errorf("inventory has %d apps, want some but fewer", n)
				}
			}},
		{"killed list", &vcguardv1.Event{Seq: 5, Detail: &vcguardv1.Event_Enforcement{Enforcement: &vcguardv1.Enforcement{
			App: app("/x"), Killed: make([]int32, 100_000)}}}, true,
			func(t *testing.T, e *vcguardv1.Event) {
				if n := len(e.GetEnforcement().GetKilled()); n > maxList {
					t.Errorf("%d PIDs kept", n)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := limitEvent(tc.event, maxString, maxBytes); got != tc.changed {
				t.Errorf("changed = %v, want %v", got, tc.changed)
			}
			if n := proto.Size(tc.event); n > maxBytes {
				t.Errorf("event is %d bytes, above %d", n, maxBytes)
			}
			if tc.event.GetSeq() == 0 {
				t.Error("seq lost")
			}
			tc.check(t, tc.event)
		})
	}
}

// TestLimitEventFloor: the smallest accepted budgets hold any event.
func TestLimitEventFloor(t *testing.T) {
	t.Parallel()
	inv := &vcguardv1.Inventory{}
	for range 3000 {
		inv.Apps = append(inv.Apps, app(strings.Repeat("x", 4000)))
		inv.Media = append(inv.Media, &vcguardv1.MediaUse{Device: strings.Repeat("d", 4000), Process: strings.Repeat("p", 4000)})
	}
	e := &vcguardv1.Event{Seq: 1, Time: timestamppb.Now(), Detail: &vcguardv1.Event_Inventory{Inventory: inv}}
	limitEvent(e, 64, minEventBytes)
	if n := proto.Size(e); n > minEventBytes {
		t.Errorf("event is %d bytes at the floor, above %d", n, minEventBytes)
	}
}
