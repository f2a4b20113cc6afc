package posture

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/policies"
)

// collector gathers readings and lets a test wait for a set of them.
type collector struct {
	mu  sync.Mutex
	got []string
	ch  chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1024)} }

func (c *collector) report(r policies.PostureReading) {
	c.mu.Lock()
	c.got = append(c.got, r.Detail)
	c.mu.Unlock()
	if r.Kind != policies.PostureRecording || r.Where == "" {
		panic("bad reading")
	}
	c.ch <- struct{}{}
}

func (c *collector) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

// waitFor waits until every name in want was reported.
func (c *collector) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		have := map[string]bool{}
		for _, g := range c.snapshot() {
			have[g] = true
		}
		missing := false
		for _, w := range want {
			if !have[w] {
				missing = true
			}
		}
		if !missing {
			return
		}
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("reported %q, want all of %q", c.snapshot(), want)
		}
	}
}

func recordingCheck(home string) (policies.PostureCheck, string) {
	cat, disk := homeCheckPath(home, "Documents/Zoom")
	return policies.PostureCheck{Kind: policies.PostureRecording, OS: runtime.GOOS, Folder: cat, Source: "https://example.org"}, disk
}

// TestWatchRecordings: a folder that is not there yet is waited for; new
// files in it and one subfolder below are reported once each with their
// relative path; files there before, deeper files and folders are not.
func TestWatchRecordings(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	check, dir := recordingCheck(home)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	r := Reader{PollInterval: 20 * time.Millisecond}
	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.WatchRecordings(ctx, check, testOwner(home), c.report) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchRecordings: %v", err)
		}
	}()
	time.Sleep(50 * time.Millisecond) // let it poll for the folder at least once

	// The folder appears, all at once, with an old meeting in it; the test
	// then waits for the watch with a marker file.
	staging := filepath.Join(home, "staging")
	writeFile(t, filepath.Join(staging, "2026-01-01 Old meeting", "old.mp4"), "x")
	if err := os.Rename(staging, dir); err != nil {
		t.Fatal(err)
	}
	waitReported(t, c, dir, "marker-1")

	writeFile(t, filepath.Join(dir, "top.m4a"), "x")
	writeFile(t, filepath.Join(dir, "2026-01-01 Old meeting", "new.mp4"), "x")
	meeting := filepath.Join(dir, "2026-12-06 10.00.00 Standup")
	writeFile(t, filepath.Join(meeting, "video1.mp4"), "x")
	writeFile(t, filepath.Join(meeting, "deeper", "no.mp4"), "x")
	writeFile(t, filepath.Join(meeting, "audio1.m4a"), "x")
	c.waitFor(t, "top.m4a", "2026-01-01 Old meeting/new.mp4", "2026-12-06 10.00.00 Standup/video1.mp4", "2026-12-06 10.00.00 Standup/audio1.m4a")
	// Writing to a reported file again reports nothing more.
	writeFile(t, filepath.Join(dir, "top.m4a"), "more")
	waitReported(t, c, dir, "marker-2")
	counts := map[string]int{}
	for _, g := range c.snapshot() {
		counts[g]++
	}
	for name, n := range counts {
		if n != 1 {
			t.Errorf("%q reported %d times", name, n)
		}
	}
	for _, no := range []string{"2026-01-01 Old meeting/old.mp4", "2026-12-06 10.00.00 Standup/deeper/no.mp4", "2026-12-06 10.00.00 Standup/deeper", "2026-12-06 10.00.00 Standup"} {
		if counts[no] > 0 {
			t.Errorf("%q reported", no)
		}
	}
}

// waitReported writes marker files into dir until one is reported: the
// watch is then running.
func waitReported(t *testing.T, c *collector, dir, marker string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		name := marker
		if i > 0 {
			name = marker + "-" + time.Now().Format("150405.000000")
		}
		writeFile(t, filepath.Join(dir, name), "m")
		timer := time.NewTimer(200 * time.Millisecond)
	wait:
		for {
			for _, g := range c.snapshot() {
				if g == name {
					timer.Stop()
					return
				}
			}
			select {
			case <-c.ch:
			case <-timer.C:
				break wait
			}
		}
	}
	t.Fatalf("no marker reported in %s", dir)
}

// TestWatchRecordingsFolderGoesAndComesBack: a removed folder is waited
// for again and watched when it is back.
func TestWatchRecordingsFolderGoesAndComesBack(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Windows does not let a watched folder be removed")
	}
	home := t.TempDir()
	check, dir := recordingCheck(home)
	r := Reader{PollInterval: 20 * time.Millisecond}
	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.WatchRecordings(ctx, check, testOwner(home), c.report) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchRecordings: %v", err)
		}
	}()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	waitReported(t, c, dir, "first")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	waitReported(t, c, dir, "second")
}

// TestWatchRecordingsStops: WatchRecordings returns when ctx ends, also
// while it waits for the folder.
func TestWatchRecordingsStops(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	check, _ := recordingCheck(home)
	r := Reader{PollInterval: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.WatchRecordings(ctx, check, testOwner(home), func(policies.PostureReading) {}); err != nil {
		t.Errorf("WatchRecordings = %v, want nil", err)
	}
	if err := r.WatchRecordings(ctx, policies.PostureCheck{}, testOwner(home), nil); err == nil {
		t.Error("no folder: want an error")
	}
}
