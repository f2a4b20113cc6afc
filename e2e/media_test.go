package e2e

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/devices/pwtest"
)

// TestMicrophoneEvents: with a real PipeWire session (found by the agent
// itself under its runtime directory, as /run/user/<uid>), the real
// pw-record client capturing from a null source is reported by the real
// agent as microphone_on with pw-record's PID within 2 s, listed under the
// device's media, judged a use by a process of no catalog app, and
// microphone_off once it stops.
func TestMicrophoneEvents(t *testing.T) {
	pw := pwtest.Start(t, false)
	s := newServer(t)
	stateDir := filepath.Join(t.TempDir(), "agent")
	start(t, "vcguard-agent", stateDir+"-agent.log", append([]string{"run", "--run-user-dir", pw.Base}, s.agentArgs(stateDir)...)...)
	waitFor(t, 15*time.Second, "the agent online with policy 1", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].PolicyVersion == 1
	})
	time.Sleep(500 * time.Millisecond) // the agent's first device check and its PipeWire monitor

	type media struct {
		Kind    string `json:"kind"`
		PID     int    `json:"pid"`
		Process string `json:"process"`
		AppID   string `json:"app_id"`
		Source  string `json:"source"`
	}
	mediaOf := func() []media {
		devs := s.devices(t)
		if len(devs) != 1 {
			t.Fatalf("%d devices, want 1", len(devs))
		}
		var dev struct {
			Media []media `json:"media"`
		}
		if code := s.api(t, http.MethodGet, "/api/v1/devices/"+devs[0].ID, nil, &dev); code != http.StatusOK {
			t.Fatalf("device %s: %d", devs[0].ID, code)
		}
		return dev.Media
	}
	rec := exec.Command("pw-record", "--target", "test-mic", filepath.Join(pw.Base, "out.wav"))
	rec.Env = pw.Env
	t0 := time.Now()
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { rec.Process.Kill(); rec.Wait() }()
	var got media
	waitFor(t, 2*time.Second, "microphone_on for pw-record within 2 s", func() bool {
		for _, m := range mediaOf() {
			if m.Kind == "microphone" && m.PID == rec.Process.Pid {
				got = m
				return true
			}
		}
		return false
	})
	t.Logf("pw-record started → microphone in use in the server's API after %s", time.Since(t0).Round(time.Millisecond))
	// pw-record is a link to pw-cat: the process is the executable's.
	exe, err := exec.LookPath("pw-record")
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != "pipewire" || got.AppID != "" || got.Process != exe {
		t.Errorf("media = %+v; want %s via pipewire, no catalog app", got, exe)
	}
	var events []struct {
		Type    string `json:"type"`
		PID     int    `json:"pid"`
		Process string `json:"process"`
		AppID   string `json:"app_id"`
		Detail  struct {
			MediaFinding struct {
				Finding string `json:"finding"`
			} `json:"media_finding"`
		} `json:"detail"`
	}
	devID := s.devices(t)[0].ID
	waitFor(t, 5*time.Second, "the unknown_app finding", func() bool {
		s.apiEvents(t, "/api/v1/events?type=media_finding&device="+devID, &events)
		return len(events) > 0 && events[0].Detail.MediaFinding.Finding == "unknown_app" && events[0].PID == rec.Process.Pid
	})

	rec.Process.Kill()
	rec.Wait()
	t1 := time.Now()
	waitFor(t, 2*time.Second, "microphone_off after pw-record stops", func() bool { return len(mediaOf()) == 0 })
	t.Logf("pw-record stopped → microphone free in the API after %s", time.Since(t1).Round(time.Millisecond))
	s.apiEvents(t, "/api/v1/events?type=microphone_off&device="+devID, &events)
	if len(events) != 1 || events[0].PID != rec.Process.Pid || events[0].Process != filepath.Base(exe) || events[0].Type != "microphone_off" {
		t.Errorf("microphone_off events = %+v", events)
	}
	s.apiEvents(t, "/api/v1/events?type=microphone_on&device="+devID, &events)
	if len(events) != 1 || events[0].PID != rec.Process.Pid {
		t.Errorf("microphone_on events = %+v", events)
	}
}
