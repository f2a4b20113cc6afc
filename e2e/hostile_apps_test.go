package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// getRaw GETs path from the JSON API with the admin token and returns the
// body.
func (s *server) getRaw(t *testing.T, path string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+s.httpAddr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", path, resp.Status, err)
	}
	return body
}

func cameraOnPID(seq uint64, pid int32) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.Now(), Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{
		On: true, Use: &vcguardv1.MediaUse{Kind: "camera", Device: "/dev/video0", Pid: pid, Process: "/usr/bin/zoom", Source: "v4l2"},
	}}}
}

// TestHostileAppAndMediaFlood: one device reports 10,000 app_started
// events, each with a new PID, and 5,000 cameras turned on by new
// processes (the flood that made ingest quadratic and locked the
// database for the fleet), while a real agent keeps reporting:
//   - the device's running apps and media rows stay within the store's caps;
//   - the device list and the device's page stay small (the flood once
//     made GET /api/v1/devices 282 MB);
//   - the real agent's new app reaches the server during the flood.
func TestHostileAppAndMediaFlood(t *testing.T) {
	t.Parallel()
	const maxRunningApps, maxMediaRows = 256, 64 // store.MaxRunningApps, store.MaxMediaRows
	s := newHostileServer(t, "--device-events-per-sec", "5000", "--device-event-burst", "5000")
	agentID := startWellBehaved(t, s)

	ctx, stop := context.WithTimeout(t.Context(), 25*time.Second)
	defer stop()
	attacker := enrollProto(t, s, "hostile-pids")
	done := make(chan error, 1)
	go func() {
		stream, _, err := attacker.connect(ctx, t, s, "hostile-pids")
		if err != nil {
			done <- err
			return
		}
		var seq uint64
		for b := range 15 {
			events := make([]*vcguardv1.Event, 1000)
			for i := range events {
				seq++
				if b < 10 {
					events[i] = hostileAppStarted(seq, int32(100_000+seq), 0)
				} else {
					events[i] = cameraOnPID(seq, int32(100_000+seq))
				}
			}
			if _, err := sendBatchAck(stream, events); err != nil {
				done <- fmt.Errorf("batch %d: %w", b, err)
				return
			}
		}
		done <- nil
	}()
	reportsDuringAttack(t, s, agentID, 20*time.Second)
	if err := <-done; err != nil {
		t.Fatalf("the flood was refused: %v (over-cap rows are dropped, the events stored)", err)
	}

	var d struct {
		Apps []struct {
			Running bool `json:"running"`
		} `json:"apps"`
		MediaTotal int `json:"media_total"`
	}
	body := s.getRaw(t, "/api/v1/devices/"+attacker.id)
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, a := range d.Apps {
		if a.Running {
			running++
		}
	}
	if running > maxRunningApps || d.MediaTotal > maxMediaRows {
		t.Errorf("the flooding device has %d running apps and %d media rows, above the caps %d and %d", running, d.MediaTotal, maxRunningApps, maxMediaRows)
	}
	if len(body) > 1<<20 {
		t.Errorf("GET /api/v1/devices/{id} of the flooding device is %d bytes", len(body))
	}
	if list := s.getRaw(t, "/api/v1/devices"); len(list) > 256<<10 {
		t.Errorf("GET /api/v1/devices is %d bytes for three devices after the flood", len(list))
	}
	if !s.device(t, agentID).Online {
		t.Error("the well-behaved agent is offline after the flood")
	}
}
