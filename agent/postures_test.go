package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/devices"
	"github.com/vcguard/vcguard/agent/notify"
	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// fakePosture stands for the posture readers (tested against real files,
// registry keys and package lists in agent/posture): what each app's
// settings say, by app id, and a recording watch the test drives.
type fakePosture struct {
	mu       sync.Mutex
	readings map[string][]policies.PostureReading
	reads    []string
	watching map[string]func(policies.PostureReading)
	stopped  chan string
}

func (f *fakePosture) ReadPosture(_ context.Context, app *policies.App, _ int32) (PostureRead, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, app.ID)
	return PostureRead{Readings: f.readings[app.ID], Session: "uid 1000"}, nil
}

func (f *fakePosture) WatchRecordings(ctx context.Context, app *policies.App, _ int32, found func(policies.PostureReading)) error {
	f.mu.Lock()
	f.watching[app.ID] = found
	f.mu.Unlock()
	<-ctx.Done()
	f.mu.Lock()
	delete(f.watching, app.ID)
	f.mu.Unlock()
	f.stopped <- app.ID
	return nil
}

func (f *fakePosture) found(t *testing.T, id string) func(policies.PostureReading) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		f.mu.Lock()
		fn := f.watching[id]
		f.mu.Unlock()
		if fn != nil {
			return fn
		}
	}
	t.Fatalf("no recording watch for %s", id)
	return nil
}

func postureEvents(a *Agent, after *uint64) []string {
	var out []string
	for _, ev := range a.out.Pending(*after, 1000) {
		*after = ev.GetSeq()
		if p, ok := ev.GetDetail().(*vcguardv1.Event_AppPosture); ok {
			var fs []string
			for _, f := range p.AppPosture.GetFindings() {
				fs = append(fs, fmt.Sprintf("%s:%s:%s:%s", policies.PostureKindFromProto(f.GetKind()), f.GetWhere(), f.GetDetail(), policies.ActionFromProto(f.GetPolicyAction())))
			}
			out = append(out, fmt.Sprintf("posture %s/%d session=%q findings=%v", p.AppPosture.GetAppId(), p.AppPosture.GetPid(), p.AppPosture.GetSession(), fs))
		}
	}
	return out
}

// An approved app's settings are read when it starts and recorded with
// the policy's action; warnings reach the employee; a new policy judges
// them again; a forbidden app's settings are not read; a local recording
// during a meeting is recorded by its file type only; the watch ends with
// the meeting; notices go when the app stops.
func TestAppPosture(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	zoomApp, _ := f.catalog.App("zoom")
	zoomApp.Posture = append(zoomApp.Posture, policies.PostureCheck{Kind: policies.PostureRecording, OS: a.cfg.GOOS, Folder: "~/Documents/Zoom", Source: "https://example.org/zoom"})
	pr := &fakePosture{
		readings: map[string][]policies.PostureReading{
			"zoom": {
				{Kind: policies.PostureAutostart, Where: "~/.config/autostart/zoom.desktop"},
				{Kind: policies.PostureUpdatesOff, Where: "~/.config/zoomus.conf (General.autoUpdate)", Detail: "false"},
			},
			"discord": {{Kind: policies.PostureAutostart, Where: "~/.config/autostart/discord.desktop"}},
		},
		watching: map[string]func(policies.PostureReading){}, stopped: make(chan string, 4),
	}
	ntf := &fakeNotifier{seen: map[string]string{}, delivered: make(chan notify.Delivery, 32)}
	a.cfg.Posture, a.cfg.Notifier = pr, ntf
	doc := `name: Posture
apps:
  zoom: {status: approved}
  discord: {status: forbidden}
actions:
  posture: {updates_off: warn, recording: warn}
`
	mustApply(t, a, f.signed(1, []byte(doc)))
	zoom, discord := proc(100, "zoom", 1), proc(200, "Discord", 2)
	f.scanner.set(zoom, discord)
	mustScan(t, a, f.scanner)
	var seq uint64
	got := postureEvents(a, &seq)
	want := []string{`posture zoom/100 session="uid 1000" findings=[updates_off:~/.config/zoomus.conf (General.autoUpdate):false:warn autostart:~/.config/autostart/zoom.desktop::monitor]`}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(pr.reads, []string{"zoom"}) {
		t.Errorf("read the posture of %v, want zoom only (discord is forbidden)", pr.reads)
	}
	var told []string
	for _, n := range ntf.told {
		if n.PostureFinding != "" {
			told = append(told, fmt.Sprintf("%s %s %s %s", n.AppID, n.PostureFinding, n.PostureDetail, n.Action))
		}
	}
	if !slices.Equal(told, []string{"zoom updates_off false warn"}) {
		t.Errorf("told %q, want the updates warning only", told)
	}

	// The same findings are not recorded again; a policy that warns of
	// autostart too records and tells it.
	a.rejudge(time.Now())
	if got := postureEvents(a, &seq); len(got) != 0 {
		t.Errorf("unchanged posture recorded again: %q", got)
	}
	mustApply(t, a, f.signed(2, []byte(strings.Replace(doc, "updates_off: warn,", "updates_off: warn, autostart: warn,", 1))))
	if got := postureEvents(a, &seq); len(got) != 1 || !strings.Contains(got[0], "autostart:~/.config/autostart/zoom.desktop::warn") {
		t.Errorf("after warning of autostart: %q", got)
	}
	if n := ntf.told[len(ntf.told)-1]; n.PostureFinding != policies.PostureAutostart {
		t.Errorf("last notice %+v, want autostart", n)
	}

	// Read again while zoom runs: the employee switched start at login
	// off; that is recorded and its notice cleared. Nothing changed the
	// next time: nothing recorded.
	pr.mu.Lock()
	pr.readings["zoom"] = pr.readings["zoom"][1:]
	pr.mu.Unlock()
	a.rereadPostures(t.Context(), time.Now())
	if err := a.flush(); err != nil {
		t.Fatal(err)
	}
	if got := postureEvents(a, &seq); len(got) != 1 || strings.Contains(got[0], "autostart") || !strings.Contains(got[0], "updates_off") {
		t.Errorf("after start at login was switched off: %q", got)
	}
	if !slices.Contains(ntf.cleared, postureNoticeKey(zoom.Key(), policies.PostureAutostart)) {
		t.Errorf("the autostart notice was not cleared: %v", ntf.cleared)
	}
	a.rereadPostures(t.Context(), time.Now())
	if err := a.flush(); err != nil {
		t.Fatal(err)
	}
	if got := postureEvents(a, &seq); len(got) != 0 {
		t.Errorf("an unchanged read recorded again: %q", got)
	}

	// A meeting: the recording folder is watched while zoom holds the
	// camera; a new file is recorded by its type, never its name.
	now := base.Add(time.Hour)
	cam := devices.Use{Kind: devices.Camera, Device: "/dev/video0", PID: 100, Process: "zoom", UID: 1000, Source: devices.SourceV4L2}
	if err := a.handleMedia(t.Context(), []devices.Use{cam}, now); err != nil {
		t.Fatal(err)
	}
	pr.found(t, "zoom")(policies.PostureReading{Kind: policies.PostureRecording, Where: "~/Documents/Zoom", Detail: "2026-12-06 10.00.00 Meeting with Bob Smith/video1234.MP4"})
	select {
	case rs := <-a.recordingCh:
		if err := a.recorded(now, rs); err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the recording did not reach the agent")
	}
	got = postureEvents(a, &seq)
	if want := `posture zoom/100 session="uid 1000" findings=[recording:~/Documents/Zoom:.mp4:warn]`; !slices.Equal(got, []string{want}) {
		t.Errorf("recording events %q, want %q", got, want)
	}
	if n := ntf.told[len(ntf.told)-1]; n.PostureFinding != policies.PostureRecording || n.PostureDetail != ".mp4" {
		t.Errorf("last notice %+v, want the recording by type", n)
	}
	if strings.Contains(f.log.String(), "Bob") {
		t.Error("the recording's name reached the log")
	}
	if err := a.handleMedia(t.Context(), nil, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-pr.stopped:
		if id != "zoom" {
			t.Errorf("stopped watching %s", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the recording watch did not stop when the camera was released")
	}

	// Zoom stops: its notices are cleared and nothing is kept.
	f.scanner.set(discord)
	mustScan(t, a, f.scanner)
	if _, ok := a.postures[zoom.Key()]; ok {
		t.Error("the stopped instance's posture is kept")
	}
	for _, k := range []policies.PostureKind{policies.PostureUpdatesOff, policies.PostureRecording} {
		if !slices.Contains(ntf.cleared, postureNoticeKey(zoom.Key(), k)) {
			t.Errorf("the %s notice was not cleared: %v", k, ntf.cleared)
		}
	}
}

func TestRecordingType(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-06 Meeting with Bob/video1.MP4": ".mp4",
		`Meeting\audio_only.m4a`:                 ".m4a",
		"no extension":                           "file",
		"weird.m p4":                             "file",
		"long.abcdefghijkl":                      "file",
		"":                                       "file",
	} {
		if got := recordingType(in); got != want {
			t.Errorf("recordingType(%q) = %q, want %q", in, got, want)
		}
	}
}
