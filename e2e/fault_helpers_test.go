package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to count what a PostgreSQL server stored
	_ "modernc.org/sqlite"             // the "sqlite" driver, to count what a server stored

	"github.com/vcguard/vcguard/agent/outbox"
)

// churn starts and stops look-alike Zoom processes (a copy of sleep named
// zoom in a private directory: no fixture shared with other tests) until
// stop is called, so that every agent on the machine records a steady
// stream of app_started and app_stopped events.
type churn struct {
	stopOnce sync.Once
	quit     chan struct{}
	done     chan struct{}
}

func startChurn(t *testing.T, every time.Duration) *churn {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "zoom")
	installCopy(t, "sleep", exe)
	c := &churn{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			cmd := exec.Command(exe, "600")
			if err := cmd.Start(); err == nil {
				select {
				case <-c.quit:
				case <-time.After(every):
				}
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
			select {
			case <-c.quit:
				return
			case <-time.After(every):
			}
		}
	}()
	t.Cleanup(c.stop)
	return c
}

func (c *churn) stop() {
	c.stopOnce.Do(func() { close(c.quit) })
	<-c.done
}

// agentStatus reads the status file of the agent with stateDir.
type agentStatusFile struct {
	PendingEvents     int                `json:"pending_events"`
	DroppedEvents     []outbox.DropCount `json:"dropped_events"`
	DroppedUnreported uint64             `json:"dropped_unreported"`
}

func readAgentStatus(stateDir string) (agentStatusFile, error) {
	var st agentStatusFile
	data, err := os.ReadFile(stateDir + "-status.json")
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(data, &st)
}

// assigned returns the sequence numbers the stopped agent with stateDir
// assigned: 1 up to its outbox's next, less the events its outbox dropped,
// which Inspect cannot name: it returns the count of those.
func assigned(t *testing.T, stateDir string) (next uint64, dropped uint64) {
	t.Helper()
	st, err := outbox.Inspect(filepath.Join(stateDir, "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 0 {
		t.Fatalf("agent %s stopped with %d events unsent", stateDir, st.Pending)
	}
	return st.Next, st.Dropped
}

// storedEvent is one event row as the server stored it.
type storedEvent struct {
	seq        uint64
	typ        string
	time       int64 // microseconds since the epoch, as stored
	receivedAt int64
	payload    []byte
}

// storedEvents reads every event of every device from a server's
// database (the SQLite file in its data directory, or a PostgreSQL URL),
// by device, in sequence order. It counts rows, so a duplicate would show.
func storedEvents(t *testing.T, db string) map[string][]storedEvent {
	t.Helper()
	driver, dsn := "sqlite", "file:"+db+"?mode=ro&_pragma=busy_timeout(10000)"
	if strings.HasPrefix(db, "postgres://") {
		driver, dsn = "pgx", db
	}
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := conn.QueryContext(ctx, `SELECT device_id, seq, type, time, received_at, payload FROM events ORDER BY device_id, seq`)
	if err != nil {
		t.Fatalf("read events from %s: %v", db, err)
	}
	defer rows.Close()
	out := map[string][]storedEvent{}
	for rows.Next() {
		var dev string
		var e storedEvent
		var seq int64
		if err := rows.Scan(&dev, &seq, &e.typ, &e.time, &e.receivedAt, &e.payload); err != nil {
			t.Fatal(err)
		}
		e.seq = uint64(seq)
		out[dev] = append(out[dev], e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// deviceIDOf reads the device id the agent with stateDir enrolled as.
func deviceIDOf(t *testing.T, stateDir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(stateDir, "identity.json"))
	if err != nil {
		t.Fatal(err)
	}
	var id struct {
		DeviceID string `json:"device_id"`
	}
	if err := json.Unmarshal(data, &id); err != nil || id.DeviceID == "" {
		t.Fatalf("identity of %s: %s (%v)", stateDir, data, err)
	}
	return id.DeviceID
}

// exactlyOnce checks that the server stored each of the agent's events
// 1..next-1 once: no gap, no duplicate (a gap is allowed only as many
// times as the agent's outbox dropped events).
func exactlyOnce(t *testing.T, stored []storedEvent, next, dropped uint64, who string) {
	t.Helper()
	seen := map[uint64]int{}
	for _, e := range stored {
		seen[e.seq]++
	}
	var missing, dups []uint64
	for s := uint64(1); s < next; s++ {
		switch seen[s] {
		case 0:
			missing = append(missing, s)
		case 1:
		default:
			dups = append(dups, s)
		}
	}
	var extra []uint64
	for s := range seen {
		if s == 0 || s >= next {
			extra = append(extra, s)
		}
	}
	slices.Sort(extra)
	if len(dups) > 0 || len(extra) > 0 || uint64(len(missing)) != dropped {
		t.Errorf("%s: %d events assigned, %d stored; missing %v (the outbox dropped %d), stored twice %v, never assigned %v",
			who, next-1, len(stored), short(missing), dropped, short(dups), short(extra))
	}
	if next < 10 {
		t.Errorf("%s: only %d events recorded: the test made no load", who, next-1)
	}
}

func short(s []uint64) string {
	if len(s) > 20 {
		return fmt.Sprintf("%v … (%d)", s[:20], len(s))
	}
	return fmt.Sprint(s)
}

// waitDelivered waits until the agent's outbox holds nothing unsent (read
// beside the running agent, as `vcguard-agent status` does), twice in a row
// a quarter second apart, so that an event being recorded is not missed.
func waitDelivered(t *testing.T, stateDir string, timeout time.Duration) {
	t.Helper()
	empty := 0
	waitFor(t, timeout, "agent "+filepath.Base(filepath.Dir(stateDir))+" to deliver every event", func() bool {
		st, err := outbox.Inspect(filepath.Join(stateDir, "outbox"))
		if err != nil || st.Pending > 0 || st.Next <= 1 {
			empty = 0
			return false
		}
		empty++
		time.Sleep(200 * time.Millisecond)
		return empty >= 2
	})
}

// killProc SIGKILLs p and waits for it.
func killProc(p *proc) {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// restartServer starts a server again on s's data directory and ports.
func restartServer(t *testing.T, s *server, extra ...string) *server {
	t.Helper()
	var ns *server
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		ns, err = tryStartServer(t, s.data, s.grpcAddr, s.httpAddr, extra...)
		if err == nil {
			return ns
		}
		time.Sleep(250 * time.Millisecond) // the killed server's ports
	}
	t.Fatalf("restart server: %v", err)
	return nil
}

// sqliteOf is the database file of a server on SQLite.
func sqliteOf(s *server) string { return filepath.Join(s.data, "vcguard.db") }

// integrityCheck runs SQLite's integrity check on the database file db.
func integrityCheck(t *testing.T, db string) string {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var res string
	if err := conn.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil {
		t.Fatal(err)
	}
	return res
}
