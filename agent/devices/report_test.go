package devices

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeChecker is an osChecker that returns what it is set to.
type fakeChecker struct {
	mu   sync.Mutex
	uses []Use
	err  error
}

func (f *fakeChecker) check(context.Context) ([]Use, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.uses), f.err
}

func (f *fakeChecker) start(context.Context) (<-chan struct{}, error) { return nil, nil }

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestWatcher(t *testing.T, os *fakeChecker) (*Watcher, *fakeClock) {
	t.Helper()
	cfg := Config{PollInterval: time.Hour}
	cfg.defaults()
	w := newWatcher(cfg, os)
	clock := &fakeClock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	w.now = clock.now
	return w, clock
}

func check(t *testing.T, w *Watcher) []Use {
	t.Helper()
	us, err := w.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return us
}

var (
	facetime = Use{Kind: Camera, Device: "FaceTime HD Camera", PID: 812, Process: "/Applications/zoom.us.app/Contents/MacOS/zoom.us", Source: SourceCoreMediaIO}
	unknown  = Use{Kind: Camera, Device: "FaceTime HD Camera", Process: "unknown process", UID: -1, Source: SourceCoreMediaIO}
	mic      = Use{Kind: Microphone, Device: "BuiltInMicrophoneDevice", PID: 812, Process: "/Applications/zoom.us.app/Contents/MacOS/zoom.us", UID: 501, Session: "501", Source: SourceCoreAudio}
)

func TestWatcherReportMerge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		own     []Use
		reports map[string][]Use // session → uses, all as uid 501
		want    []Use
	}{
		{
			name:    "report joins what the service sees",
			own:     []Use{mic},
			reports: map[string][]Use{"501/": {facetime}},
			want:    []Use{withUID(facetime, 501), mic},
		},
		{
			name:    "the uid comes from the caller, not the use",
			reports: map[string][]Use{"501/": {{Kind: Camera, Device: "cam", UID: 0, Session: "0", Source: SourceCoreMediaIO}}},
			want:    []Use{{Kind: Camera, Device: "cam", UID: 501, Session: "0", Source: SourceCoreMediaIO}},
		},
		{
			name:    "a use the service sees without a user is listed once, as reported",
			own:     []Use{unknown},
			reports: map[string][]Use{"501/": {{Kind: Camera, Device: unknown.Device, Process: "unknown process", Source: SourceCoreMediaIO}}},
			want:    []Use{{Kind: Camera, Device: unknown.Device, Process: "unknown process", UID: 501, Session: "501", Source: SourceCoreMediaIO}},
		},
		{
			name:    "the same process and user seen twice is one use",
			own:     []Use{mic},
			reports: map[string][]Use{"501/": {mic, mic}},
			want:    []Use{mic},
		},
		{
			name:    "another user's use of the same process stays apart",
			own:     []Use{withUID(facetime, 502)},
			reports: map[string][]Use{"501/": {facetime}},
			want:    []Use{withUID(facetime, 501), withUID(facetime, 502)},
		},
		{
			name:    "two sessions",
			reports: map[string][]Use{"501/a": {facetime}, "501/b": {mic}},
			want:    []Use{withUID(facetime, 501), mic},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, _ := newTestWatcher(t, &fakeChecker{uses: tc.own})
			for session, us := range tc.reports {
				w.Report(session, 501, us, time.Minute)
			}
			if got := check(t, w); !slices.Equal(got, tc.want) {
				t.Errorf("Check =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func withUID(u Use, uid int) Use {
	u.UID = uid
	u.Session = strconv.Itoa(uid)
	return u
}

func TestWatcherReportReplaceAndExpire(t *testing.T) {
	t.Parallel()
	w, clock := newTestWatcher(t, &fakeChecker{uses: []Use{mic}})
	w.Report("501/", 501, []Use{facetime}, 30*time.Second)
	if got := check(t, w); len(got) != 2 {
		t.Fatalf("after the report: %+v", got)
	}
	// A new report replaces the old one.
	other := facetime
	other.PID, other.Process = 900, "/Applications/Safari.app/Contents/MacOS/Safari"
	clock.advance(20 * time.Second)
	w.Report("501/", 501, []Use{other}, 30*time.Second)
	if got, want := check(t, w), []Use{withUID(other, 501), mic}; !slices.Equal(got, want) {
		t.Fatalf("after the second report:\n%+v\nwant\n%+v", got, want)
	}
	// It lives for its ttl from when it was made, not from the first.
	clock.advance(29 * time.Second)
	if got := check(t, w); len(got) != 2 {
		t.Fatalf("29 s after the second report: %+v; want it still there", got)
	}
	clock.advance(time.Second)
	if got := check(t, w); !slices.Equal(got, []Use{mic}) {
		t.Fatalf("30 s after the second report: %+v; want it expired", got)
	}
	// Reporting nothing withdraws the report at once.
	w.Report("501/", 501, []Use{facetime}, 0)
	w.Report("501/", 501, nil, 0)
	if got := check(t, w); !slices.Equal(got, []Use{mic}) {
		t.Fatalf("after an empty report: %+v", got)
	}
	// No ttl is DefaultReportTTL.
	w.Report("501/", 501, []Use{facetime}, 0)
	clock.advance(DefaultReportTTL - time.Nanosecond)
	if got := check(t, w); len(got) != 2 {
		t.Fatalf("just before DefaultReportTTL: %+v", got)
	}
	clock.advance(time.Nanosecond)
	if got := check(t, w); len(got) != 1 {
		t.Fatalf("at DefaultReportTTL: %+v", got)
	}
	w.mu.Lock()
	n := len(w.reports)
	w.mu.Unlock()
	if n != 0 {
		t.Errorf("%d expired reports kept", n)
	}
}

func TestWatcherCheckFailsWithReports(t *testing.T) {
	t.Parallel()
	errRefused := errors.New("refused")
	w, _ := newTestWatcher(t, &fakeChecker{err: errRefused})
	w.Report("501/", 501, []Use{facetime}, time.Minute)
	got, err := w.Check(context.Background())
	if !errors.Is(err, errRefused) || !slices.Equal(got, []Use{withUID(facetime, 501)}) {
		t.Errorf("Check = %+v, %v; want the reported use and the error", got, err)
	}
}

// Run emits a report as soon as it is made, and again when it expires,
// without waiting for the next poll (an hour here).
func TestWatcherRunEmitsReports(t *testing.T) {
	t.Parallel()
	os := &fakeChecker{uses: []Use{mic}}
	cfg := Config{PollInterval: time.Hour}
	cfg.defaults()
	w := newWatcher(cfg, os)
	emitted := make(chan []Use, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(us []Use) { emitted <- us }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	next := func(what string) []Use {
		t.Helper()
		select {
		case us := <-emitted:
			return us
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
			return nil
		}
	}
	if got := next("the first set"); !slices.Equal(got, []Use{mic}) {
		t.Fatalf("first = %+v", got)
	}
	w.Report("501/", 501, []Use{facetime}, 200*time.Millisecond)
	if got := next("the report"); !slices.Equal(got, []Use{withUID(facetime, 501), mic}) {
		t.Fatalf("after the report = %+v", got)
	}
	// The same report again changes nothing and emits nothing, but keeps
	// the report alive a little longer.
	w.Report("501/", 501, []Use{facetime}, 200*time.Millisecond)
	if got := next("the expiry"); !slices.Equal(got, []Use{mic}) {
		t.Fatalf("after the expiry = %+v", got)
	}
	select {
	case us := <-emitted:
		t.Errorf("unexpected emit %+v", us)
	case <-time.After(50 * time.Millisecond):
	}
}

// Before this process's first good check, reports alone are emitted; an
// empty set is not, as before reports existed.
func TestWatcherRunReportsWhileCheckFails(t *testing.T) {
	t.Parallel()
	os := &fakeChecker{err: errors.New("no API")}
	cfg := Config{PollInterval: time.Hour}
	cfg.defaults()
	w := newWatcher(cfg, os)
	emitted := make(chan []Use, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(us []Use) { emitted <- us }) }()
	defer func() { cancel(); <-done }()
	select {
	case us := <-emitted:
		t.Fatalf("emitted %+v before any check succeeded or report came", us)
	case <-time.After(50 * time.Millisecond):
	}
	w.Report("501/", 501, []Use{facetime}, time.Minute)
	select {
	case us := <-emitted:
		if !slices.Equal(us, []Use{withUID(facetime, 501)}) {
			t.Fatalf("emitted %+v", us)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the report")
	}
}
