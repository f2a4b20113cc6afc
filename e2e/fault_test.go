package e2e

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/outbox"
	"github.com/vcguard/vcguard/agent/uplink"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The fault tests run real servers and agents on loopback and break them
// while events flow: each ends by comparing the sequence numbers every
// agent assigned with the rows the server stored.

// startFaultAgents starts n agents against s, each in its own directory
// under root, and waits until each has enrolled.
func startFaultAgents(t *testing.T, s *server, root string, n int, extra ...string) (dirs []string, procs []*proc) {
	t.Helper()
	for i := range n {
		dir := filepath.Join(root, "agent"+strconv.Itoa(i), "state")
		if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
		procs = append(procs, startAgentWith(t, s, dir, extra...))
	}
	for _, dir := range dirs {
		waitFor(t, 30*time.Second, "agent to enroll", func() bool {
			_, err := os.Stat(filepath.Join(dir, "identity.json"))
			return err == nil
		})
	}
	return dirs, procs
}

func startAgentWith(t *testing.T, s *server, stateDir string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"run"}, s.agentArgs(stateDir)...)
	return start(t, "vcguard-agent", stateDir+"-agent.log", append(args, extra...)...)
}

// finish stops the load and the agents once they delivered everything, and
// checks exactly once against the server's database db.
func finish(t *testing.T, c *churn, db string, dirs []string, procs []*proc) {
	t.Helper()
	c.stop()
	for _, dir := range dirs {
		waitDelivered(t, dir, 60*time.Second)
	}
	for _, p := range procs {
		p.stop(t)
	}
	stored := storedEvents(t, db)
	for _, dir := range dirs {
		next, dropped := assigned(t, dir)
		exactlyOnce(t, stored[deviceIDOf(t, dir)], next, dropped, filepath.Base(filepath.Dir(dir)))
	}
}

// TestFaultServerKilled: the server is SIGKILLed twice while two agents
// send a steady stream; after each restart they reconnect and every event
// is stored exactly once.
func TestFaultServerKilled(t *testing.T) {
	// Not parallel: every agent sees every process of the machine, so
	// another test's churn would add events after this test's agents have
	// delivered theirs (and this churn would add to the others').
	s := newServer(t)
	dirs, procs := startFaultAgents(t, s, t.TempDir(), 2)
	c := startChurn(t, 40*time.Millisecond)
	for range 2 {
		time.Sleep(1500 * time.Millisecond)
		killProc(s.proc)
		time.Sleep(500 * time.Millisecond) // events pile up meanwhile
		s = restartServer(t, s)
	}
	time.Sleep(time.Second)
	finish(t, c, sqliteOf(s), dirs, procs)
	s.stop(t)
}

// TestFaultAgentKilled: an agent is SIGKILLed three times while it records
// and sends (a batch in flight, an append half done); after each restart it
// goes on numbering, and every event is stored exactly once.
func TestFaultAgentKilled(t *testing.T) {
	// Not parallel: every agent sees every process of the machine, so
	// another test's churn would add events after this test's agents have
	// delivered theirs (and this churn would add to the others').
	s := newServer(t)
	dirs, procs := startFaultAgents(t, s, t.TempDir(), 1)
	c := startChurn(t, 30*time.Millisecond)
	for range 3 {
		time.Sleep(1200 * time.Millisecond)
		killProc(procs[0])
		procs[0] = startAgentWith(t, s, dirs[0])
	}
	time.Sleep(time.Second)
	finish(t, c, sqliteOf(s), dirs, procs)
}

// TestFaultDaysOffline: the server is away while the agent records more
// than its outbox holds (--outbox-max-events 25): ten look-alike Zooms
// start and stop, thirty events, of which twenty are findings (an
// unverified app started, the user notified) and ten routine (an app
// stopped). The oldest routine events are dropped, never the findings; the
// drops show in `vcguard-agent status`, and once the server is back every
// kept event is stored once and the drops are reported in EventsDropped
// events with the same counts. Not parallel: every agent on the machine
// sees every process, and another test's churn would add findings.
func TestFaultDaysOffline(t *testing.T) {
	s := newServer(t)
	const bound, rounds = 25, 10
	dirs, procs := startFaultAgents(t, s, t.TempDir(), 1, "--outbox-max-events", strconv.Itoa(bound))
	waitDelivered(t, dirs[0], 30*time.Second)
	s.stop(t)
	exe := filepath.Join(t.TempDir(), "zoom")
	installCopy(t, "sleep", exe)
	var pids []int
	for range rounds {
		cmd := exec.Command(exe, "600")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, cmd.Process.Pid)
		time.Sleep(150 * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		time.Sleep(150 * time.Millisecond)
	}
	time.Sleep(time.Second) // the last stop recorded
	inspected, err := outbox.Inspect(filepath.Join(dirs[0], "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	if inspected.Dropped < rounds*3-bound || inspected.Pending > bound {
		t.Fatalf("outbox: %+v; want at least %d dropped, at most %d pending", inspected, rounds*3-bound, bound)
	}
	var st agentStatusFile
	waitFor(t, 20*time.Second, "the status to show the drops", func() bool {
		st, err = readAgentStatus(dirs[0])
		var n uint64
		for _, d := range st.DroppedEvents {
			n += d.Count
		}
		return err == nil && n == inspected.Dropped
	})
	for _, d := range st.DroppedEvents {
		if d.Type != "app_stopped" {
			t.Errorf("dropped %d %s events; only routine events may go while the findings fit", d.Count, d.Type)
		}
	}
	if st.DroppedUnreported != inspected.Dropped {
		t.Errorf("status: %d dropped, %d unreported; want all unreported while offline", inspected.Dropped, st.DroppedUnreported)
	}
	out, err := runCmd(context.Background(), "vcguard-agent", "status", "--state-dir", dirs[0], "--status-file", dirs[0]+"-status.json")
	if err != nil || !strings.Contains(out, "Dropped:") || !strings.Contains(out, "app_stopped") {
		t.Errorf("vcguard-agent status does not show the drops (%v):\n%s", err, out)
	}

	s = restartServer(t, s)
	waitDelivered(t, dirs[0], 60*time.Second)
	procs[0].stop(t)
	stored := storedEvents(t, sqliteOf(s))[deviceIDOf(t, dirs[0])]
	next, gone := assigned(t, dirs[0])
	exactlyOnce(t, stored, next, gone, "agent")
	// Every app start (a finding) reached the server; the reports add up to
	// what the outbox dropped.
	reported := map[string]uint64{}
	started := map[int32]bool{}
	for _, e := range stored {
		var ev vcguardv1.Event
		if err := proto.Unmarshal(e.payload, &ev); err != nil {
			t.Fatal(err)
		}
		switch outbox.Type(&ev) {
		case "app_started":
			started[ev.GetApp().GetApp().GetPid()] = true
		case "events_dropped":
			for _, d := range ev.GetEventsDropped().GetDropped() {
				reported[d.GetType()] += d.GetCount()
			}
		}
	}
	for _, pid := range pids {
		if !started[int32(pid)] {
			t.Errorf("the start of look-alike pid %d (a finding) never reached the server", pid)
		}
	}
	final, err := outbox.Inspect(filepath.Join(dirs[0], "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	var sum uint64
	for _, n := range reported {
		sum += n
	}
	if sum != final.Dropped || final.Unreported != 0 || sum == 0 {
		t.Errorf("reported %v (%d) dropped events; the outbox dropped %d, %d unreported", reported, sum, final.Dropped, final.Unreported)
	}
	s.stop(t)
}

// TestFaultClockSkew: an agent whose clock is hours off. The agent's own
// uplink code sends events dated five hours ahead and five hours behind
// the server: none is lost, they are stored in sequence order, those from
// the future at the time the server received them (store.MaxClockSkew),
// those from the past at the agent's time, and every event keeps the
// agent's time in its payload.
func TestFaultClockSkew(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	state := filepath.Join(t.TempDir(), "state")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	id, err := uplink.Enroll(ctx, uplink.EnrollConfig{
		Server: s.grpcAddr, SecretFile: filepath.Join(s.data, "enroll-secret"), CAFile: filepath.Join(s.data, "ca.pem"),
		StateDir: state, Device: &vcguardv1.DeviceInfo{Hostname: "skewed", Os: "linux"},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := outbox.Open(filepath.Join(state, "outbox"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	const n = 60
	skews := []time.Duration{5 * time.Hour, -5 * time.Hour, 0, 9 * time.Minute, 30 * 24 * time.Hour}
	sent := map[uint64]time.Time{}
	start := time.Now()
	for i := range n {
		at := time.Now().Add(skews[i%len(skews)])
		ev := &vcguardv1.Event{Time: timestamppb.New(at), Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{
			Kind: vcguardv1.AppEvent_KIND_STOPPED, App: &vcguardv1.AppInstance{AppId: "zoom", Pid: int32(100 + i)}}}}
		if err := out.Append(ev); err != nil {
			t.Fatal(err)
		}
		sent[ev.GetSeq()] = at
	}
	client := &uplink.Client{StateDir: state, Identity: id, Outbox: out,
		Hello: func() *vcguardv1.Hello {
			return &vcguardv1.Hello{Device: &vcguardv1.DeviceInfo{Hostname: "skewed", Os: "linux"}}
		},
		OnPolicy: func(*vcguardv1.SignedPolicy) {}, BatchSize: 7, Logger: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	go func() { done <- client.Run(runCtx) }()
	waitFor(t, 30*time.Second, "the skewed events to be acknowledged", func() bool { return out.Stats().Pending == 0 })
	stop()
	<-done
	end := time.Now()

	stored := storedEvents(t, sqliteOf(s))[id.DeviceID]
	exactlyOnce(t, stored, out.Stats().Next, 0, "skewed agent")
	if !slices.IsSortedFunc(stored, func(a, b storedEvent) int { return int(a.seq) - int(b.seq) }) {
		t.Errorf("stored events out of sequence order")
	}
	for _, e := range stored {
		at := sent[e.seq]
		storedAt := time.UnixMicro(e.time)
		received := time.UnixMicro(e.receivedAt)
		if received.Before(start.Add(-time.Second)) || received.After(end.Add(time.Second)) {
			t.Errorf("event %d received at %s, outside the run %s..%s", e.seq, received, start, end)
		}
		if at.After(received.Add(store.MaxClockSkew)) {
			if !storedAt.Equal(received) {
				t.Errorf("event %d dated %s ahead of the server: stored at %s, want the received time %s", e.seq, at.Sub(received).Round(time.Second), storedAt, received)
			}
		} else if d := storedAt.Sub(at); d > time.Microsecond || d < -time.Microsecond {
			t.Errorf("event %d dated %s: stored at %s, want the agent's time", e.seq, at, storedAt)
		}
		var ev vcguardv1.Event
		if err := proto.Unmarshal(e.payload, &ev); err != nil || !ev.GetTime().AsTime().Equal(at) {
			t.Errorf("event %d payload time %s, want the agent's %s (%v)", e.seq, ev.GetTime().AsTime(), at, err)
		}
	}
}
