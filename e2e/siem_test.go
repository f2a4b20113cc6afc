package e2e

import (
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/siem"
)

// siemReceiver is an HTTPS webhook receiver: it verifies each batch's
// signature and keeps the ids of the records in the order they came.
type siemReceiver struct {
	mu  sync.Mutex
	ids []string
	bad int
}

func (r *siemReceiver) received() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...), r.bad
}

// TestSIEMExportAcrossServerRestart: the real server exports to a real
// HTTPS webhook while an agent sends a steady stream of events; the server
// is stopped mid-stream (SIGTERM, then SIGKILL) and started again on the
// same data directory each time. In
// the end every event and every audit entry the database holds reached the
// receiver, each device's events in sequence order, every batch signed.
func TestSIEMExportAcrossServerRestart(t *testing.T) {
	secret := strings.Repeat("e2e-siem-secret-", 3)
	secretFile := filepath.Join(t.TempDir(), "siem-secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	recv := &siemReceiver{}
	hook := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		recv.mu.Lock()
		defer recv.mu.Unlock()
		if err := siem.Verify([]byte(secret), req.Header.Get(siem.HeaderTimestamp), req.Header.Get(siem.HeaderSignature), body, time.Now(), time.Minute); err != nil {
			recv.bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var batch struct {
			Records []struct {
				Event struct {
					ID string `json:"id"`
				} `json:"event"`
			} `json:"records"`
		}
		if err := json.Unmarshal(body, &batch); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, r := range batch.Records {
			recv.ids = append(recv.ids, r.Event.ID)
		}
	}))
	hook.StartTLS()
	defer hook.Close()
	caFile := filepath.Join(t.TempDir(), "hook-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hook.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--siem-webhook", hook.URL + "/vcguard", "--siem-webhook-secret-file", secretFile, "--siem-webhook-ca", caFile}

	s := newServerWith(t, flags...)
	stateDir := filepath.Join(t.TempDir(), "state")
	agent := startAgent(t, s, stateDir)
	c := startChurn(t, 40*time.Millisecond)
	exported := func(n int) func() bool {
		return func() bool {
			ids, _ := recv.received()
			for _, id := range ids {
				if strings.HasPrefix(id, "event:") {
					n--
				}
			}
			return n <= 0
		}
	}
	waitFor(t, 60*time.Second, "the first exported events", exported(10))
	s.stop(t) // SIGTERM mid-stream: the agent keeps its events in its outbox
	time.Sleep(time.Second)
	s = restartServer(t, s, flags...)
	waitFor(t, 60*time.Second, "more exported events", exported(40))
	killProc(s.proc) // a crash, mid-stream
	time.Sleep(time.Second)
	s = restartServer(t, s, flags...)
	time.Sleep(2 * time.Second)
	c.stop()
	waitDelivered(t, stateDir, 60*time.Second)
	agent.stop(t)

	stored := storedEvents(t, sqliteOf(s))
	audit := storedAuditIDs(t, sqliteOf(s))
	want := map[string]bool{}
	for dev, evs := range stored {
		for _, e := range evs {
			want[fmt.Sprintf("event:%s:%d", dev, e.seq)] = true
		}
	}
	for _, id := range audit {
		want["audit:"+strconv.FormatInt(id, 10)] = true
	}
	var missing []string
	waitFor(t, 60*time.Second, "every stored record at the webhook", func() bool {
		ids, _ := recv.received()
		got := map[string]bool{}
		for _, id := range ids {
			got[id] = true
		}
		missing = missing[:0]
		for id := range want {
			if !got[id] {
				missing = append(missing, id)
			}
		}
		return len(missing) == 0
	})
	s.stop(t)
	ids, bad := recv.received()
	if bad != 0 {
		t.Errorf("%d batches with a bad signature", bad)
	}
	// First deliveries per device in sequence order.
	seen := map[string]bool{}
	last := map[string]uint64{}
	events := 0
	for _, id := range ids {
		if seen[id] || !strings.HasPrefix(id, "event:") {
			continue
		}
		seen[id] = true
		events++
		i := strings.LastIndexByte(id, ':')
		dev := id[len("event:"):i]
		seq, _ := strconv.ParseUint(id[i+1:], 10, 64)
		if seq <= last[dev] {
			t.Errorf("%s delivered first after seq %d", id, last[dev])
		}
		last[dev] = seq
	}
	t.Logf("%d events and %d audit entries stored; %d records delivered (%d resent)", events, len(audit), len(ids), len(ids)-len(want))
}

// storedAuditIDs reads every audit entry's id from a SQLite database file.
func storedAuditIDs(t *testing.T, db string) []int64 {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(`SELECT id FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}
