package admin_test

import (
	"slices"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The overview counts what matters: forbidden, unverified and outdated
// starts, starts of unlisted tools other than browsers, and browsers
// taking a camera or microphone, once per call; not browsers starting,
// not approved or restricted tools. On a SQLite file and on PostgreSQL.
func TestDetections(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		env := adminapitest.New(t)
		testDetections(t, env.Service, env.Store)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		st, err := store.OpenPostgres(t.Context(), postgresSchema(t))
		if err != nil {
			t.Fatalf("OpenPostgres: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		testDetections(t, newService(t, st), st)
	})
}

func testDetections(t *testing.T, s *admin.Service, st *store.Store) {
	ctx := t.Context()
	base := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	for _, id := range []string{"dev-1", "dev-2"} {
		if err := st.CreateDevice(ctx, store.Device{ID: id, Hostname: id, OS: "linux", Enrolled: at(-120)}); err != nil {
			t.Fatal(err)
		}
	}
	var seq = map[string]uint64{}
	event := func(device string, m int, e *vcguardv1.Event) {
		t.Helper()
		seq[device]++
		e.Seq, e.Time = seq[device], timestamppb.New(at(m))
		if _, err := st.IngestEvents(ctx, device, []*vcguardv1.Event{e}, at(m)); err != nil {
			t.Fatalf("IngestEvents: %v", err)
		}
	}
	start := func(device string, m int, app string, pid int32, v vcguardv1.Verdict) {
		t.Helper()
		event(device, m, &vcguardv1.Event{Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_STARTED,
			App: &vcguardv1.AppInstance{AppId: app, Name: app, Pid: pid, Started: timestamppb.New(at(m)), Exe: "/opt/" + app, Verdict: v}}}})
	}
	media := func(device string, m int, on bool, kind, app, category string, pid int32) {
		t.Helper()
		event(device, m, &vcguardv1.Event{Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{On: on,
			Use: &vcguardv1.MediaUse{Kind: kind, Device: "/dev/" + kind, Source: "pipewire", Pid: pid, Process: app, AppId: app, Category: category}}}})
	}
	const (
		approved   = vcguardv1.Verdict_VERDICT_APPROVED
		restricted = vcguardv1.Verdict_VERDICT_RESTRICTED
		forbidden  = vcguardv1.Verdict_VERDICT_FORBIDDEN
		unlisted   = vcguardv1.Verdict_VERDICT_UNLISTED
		unverified = vcguardv1.Verdict_VERDICT_UNVERIFIED
		outdated   = vcguardv1.Verdict_VERDICT_OUTDATED
	)

	// Before the window: not counted, whatever it was.
	start("dev-1", -60, "whatsapp", 1, forbidden)
	// The 20 browser launches of the issue: none counts.
	for i := range 20 {
		start("dev-1", 0, "chromium", int32(100+i), unlisted)
	}
	start("dev-1", 1, "firefox", 200, approved)
	start("dev-1", 1, "zoom", 201, restricted)
	start("dev-1", 1, "jitsi-meet", 202, approved)
	var want []time.Time
	// Forbidden, unverified and outdated starts count, browsers' too.
	start("dev-1", 2, "whatsapp", 300, forbidden)
	start("dev-1", 3, "chrome", 301, unverified)
	start("dev-1", 4, "microsoft-teams", 302, outdated)
	want = append(want, at(2), at(3), at(4))
	// Unlisted meeting tools count, and so do apps this server's catalog
	// does not know (a newer agent's).
	start("dev-1", 5, "slack", 303, unlisted)
	start("dev-1", 6, "some-new-tool", 304, unlisted)
	want = append(want, at(5), at(6))
	// A call in the browser: the camera (one process) and the microphone
	// (another) count once; a second call after both went off counts again.
	media("dev-1", 10, true, "camera", "chrome", "browser", 400)
	media("dev-1", 10, true, "microphone", "chrome", "browser", 401)
	media("dev-1", 11, false, "camera", "chrome", "browser", 400)
	media("dev-1", 12, true, "camera", "chrome", "browser", 400) // the microphone is still on: the same call
	media("dev-1", 13, false, "camera", "chrome", "browser", 400)
	media("dev-1", 13, false, "microphone", "chrome", "browser", 401)
	media("dev-1", 14, true, "microphone", "chrome", "browser", 401)
	want = append(want, at(10), at(14))
	// The same browser on another device is another call; a browser the
	// agent sent without a category is known from the catalog.
	media("dev-2", 15, true, "camera", "chrome", "browser", 400)
	media("dev-2", 16, true, "microphone", "firefox", "", 500)
	want = append(want, at(15), at(16))
	// A meeting app's camera and a process of no catalog app are not
	// browser calls (the media findings count those).
	media("dev-2", 17, true, "camera", "zoom", "meeting", 600)
	media("dev-2", 17, true, "microphone", "", "", 700)

	got, err := s.Detections(ctx, at(-30))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("Detections =\n%v\nwant\n%v", got, want)
	}
	// What was on before the window is not known: the camera taken at
	// minute 12, during the call that began at 10, counts in a window that
	// starts at 12.
	if got, err := s.Detections(ctx, at(12)); err != nil || !slices.EqualFunc(got, []time.Time{at(12), at(14), at(15), at(16)}, time.Time.Equal) {
		t.Errorf("Detections since minute 12 = %v, %v; want minutes 12, 14, 15, 16", got, err)
	}
}
