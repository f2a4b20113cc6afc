package siem_test

import (
	"encoding/json"
	"encoding/pem"
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

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/vcguard/vcguard/server/siem"
	"github.com/vcguard/vcguard/server/store"
)

// webhookReceiver is a real HTTPS server that checks each request's
// signature and keeps the records of the batches it accepts. Its answers
// can be scripted: a status per request, then 200.
type webhookReceiver struct {
	srv    *httptest.Server
	CAFile string
	secret []byte
	mu     sync.Mutex
	script []int
	// maxRecords, when set, answers 413 to a larger batch.
	maxRecords int
	recs       []map[string]any
	calls      int
	bad        int // requests whose signature did not verify
}

func newWebhookReceiver(t *testing.T, secret []byte, script ...int) *webhookReceiver {
	w := &webhookReceiver{secret: secret, script: script}
	w.srv = httptest.NewUnstartedServer(http.HandlerFunc(w.serve))
	w.srv.StartTLS()
	t.Cleanup(w.srv.Close)
	w.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(w.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *webhookReceiver) serve(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if err := siem.Verify(w.secret, r.Header.Get(siem.HeaderTimestamp), r.Header.Get(siem.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		w.bad++
		http.Error(rw, err.Error(), http.StatusUnauthorized)
		return
	}
	if len(w.script) > 0 {
		status := w.script[0]
		w.script = w.script[1:]
		if status != http.StatusOK {
			http.Error(rw, "scripted failure", status)
			return
		}
	}
	var batch struct {
		Records []map[string]any `json:"records"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	if w.maxRecords > 0 && len(batch.Records) > w.maxRecords {
		http.Error(rw, "too many records", http.StatusRequestEntityTooLarge)
		return
	}
	w.recs = append(w.recs, batch.Records...)
}

func (w *webhookReceiver) snapshot() (recs []map[string]any, calls, bad int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]map[string]any(nil), w.recs...), w.calls, w.bad
}

func writeSecret(t *testing.T, secret string) string {
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The webhook receiver answers 503, 429, then 401 (a refusal retrying
// cannot fix, as a wrong secret would be), then accepts: the exporter
// retries the same batch with backoff, reports the refusal in its metrics,
// skips nothing, and every record arrives once, in order, signed.
func TestWebhookExportRetriesAndSigns(t *testing.T) {
	t.Parallel()
	secret, err := siem.LoadSecret(writeSecret(t, strings.Repeat("s3cret-", 6)))
	if err != nil {
		t.Fatal(err)
	}
	recv := newWebhookReceiver(t, secret, http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusUnauthorized)
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "vcguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ingest(t, st, "dev-a", 1, 25)
	audit(t, st, 4, "alice")
	dest, err := siem.NewWebhook(siem.WebhookConfig{URL: recv.srv.URL + "/ingest?token=x", Secret: secret, CAFile: recv.CAFile, Format: siem.FormatECS})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dest.Name(), "token") {
		t.Errorf("destination name %q shows the URL's query", dest.Name())
	}
	reg := prometheus.NewRegistry()
	m := siem.NewMetrics(reg)
	run := start(t, &siem.Exporter{Store: st, Dest: dest, Owner: "r", Logger: testLogger(t), Metrics: m,
		Batch: 10, Poll: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	deadline := time.Now().Add(60 * time.Second)
	for {
		// Delivered and recorded as delivered.
		if value(m.Exported(dest.Name(), siem.KindEvent)) == 25 && value(m.Exported(dest.Name(), siem.KindAudit)) == 4 {
			break
		}
		if time.Now().After(deadline) {
			recs, _, _ := recv.snapshot()
			t.Fatalf("%d records received", len(recs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	run.stop()
	recs, calls, bad := recv.snapshot()
	if bad != 0 {
		t.Errorf("%d requests with a bad signature", bad)
	}
	if calls != 3+3 {
		t.Errorf("%d requests: want the 3 failed attempts and 3 accepted batches", calls)
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, get(r, "event.id").(string))
	}
	var wantIDs []string
	for seq := 1; seq <= 25; seq++ {
		wantIDs = append(wantIDs, "event:dev-a:"+itoa(seq))
	}
	for _, id := range auditIDs(t, st) {
		wantIDs = append(wantIDs, "audit:"+itoa(int(id)))
	}
	// The first batch holds events 1-10 and audit entries; order within
	// kinds is what counts.
	if got, want := kindOrder(ids), kindOrder(wantIDs); !equal(got, want) {
		t.Errorf("records received %q, want %q", got, want)
	}
	dn := dest.Name()
	if v := value(m.Failures(dn, "transport")); v != 2 {
		t.Errorf("transport failures %v, want 2", v)
	}
	if v := value(m.Failures(dn, "rejected")); v != 1 {
		t.Errorf("rejected %v, want 1", v)
	}
	if v := value(m.Exported(dn, siem.KindEvent)); v != 25 {
		t.Errorf("events exported %v, want 25", v)
	}
}

func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// kindOrder splits ids into events and audit entries, keeping each's order.
func kindOrder(ids []string) [2][]string {
	var out [2][]string
	for _, id := range ids {
		if strings.HasPrefix(id, "audit:") {
			out[1] = append(out[1], id)
		} else {
			out[0] = append(out[0], id)
		}
	}
	return out
}

func equal(a, b [2][]string) bool {
	for i := range a {
		if strings.Join(a[i], ",") != strings.Join(b[i], ",") {
			return false
		}
	}
	return true
}

func TestVerifyRefuses(t *testing.T) {
	secret := []byte(strings.Repeat("k", 32))
	body := []byte(`{"records":[]}`)
	now := time.Unix(1_800_000_000, 0)
	ts := now.Unix()
	sig := siem.Sign(secret, ts, body)
	for _, tc := range []struct {
		name         string
		secret       []byte
		ts, sig      string
		body         []byte
		wantAccepted bool
	}{
		{"genuine", secret, itoa(int(ts)), sig, body, true},
		{"other body", secret, itoa(int(ts)), sig, []byte(`{"records":[1]}`), false},
		{"other secret", []byte(strings.Repeat("x", 32)), itoa(int(ts)), sig, body, false},
		{"replayed later", secret, itoa(int(ts - 600)), siem.Sign(secret, ts-600, body), body, false},
		{"timestamp changed", secret, itoa(int(ts + 1)), sig, body, false},
		{"no timestamp", secret, "", sig, body, false},
	} {
		err := siem.Verify(tc.secret, tc.ts, tc.sig, tc.body, now, 5*time.Minute)
		if (err == nil) != tc.wantAccepted {
			t.Errorf("%s: Verify = %v", tc.name, err)
		}
	}
}

func TestLoadSecret(t *testing.T) {
	if _, err := siem.LoadSecret(writeSecret(t, "short")); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("short secret: %v", err)
	}
	if b, err := siem.LoadSecret(writeSecret(t, strings.Repeat("a", 40))); err != nil || string(b) != strings.Repeat("a", 40) {
		t.Errorf("good secret: %q, %v", b, err)
	}
}

func TestWebhookBodyCEF(t *testing.T) {
	w, err := siem.NewWebhook(siem.WebhookConfig{URL: "https://siem.example/in", Secret: []byte(strings.Repeat("k", 32)), Format: siem.FormatCEF, Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := w.Body([]siem.Record{{Kind: siem.KindAudit, ID: "audit:1", Time: t0, Action: "login_success", Actor: "a\"b"}})
	if err != nil {
		t.Fatal(err)
	}
	var batch struct{ Records []string }
	if err := json.Unmarshal(body, &batch); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if len(batch.Records) != 1 || !strings.HasPrefix(batch.Records[0], "CEF:0|vcguard|vcguard-server|1|audit:login_success|") {
		t.Fatalf("records %q", batch.Records)
	}
	if _, ext := parseCEF(t, batch.Records[0]); ext["suser"] != "a\"b" {
		t.Errorf("suser %q", ext["suser"])
	}
}

func TestNewWebhookRefuses(t *testing.T) {
	for _, tc := range []struct {
		url    string
		secret string
		want   string
	}{
		{"http://siem.example/in", strings.Repeat("k", 32), "https://"},
		{"https://siem.example/in", "short", "at least 32"},
	} {
		if _, err := siem.NewWebhook(siem.WebhookConfig{URL: tc.url, Secret: []byte(tc.secret)}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.url, err, tc.want)
		}
	}
}

// FuzzVerify: a receiver's check of untrusted headers and body never
// panics, and accepts only the signature of exactly that body and time.
func FuzzVerify(f *testing.F) {
	secret := []byte(strings.Repeat("k", 32))
	f.Add("1800000000", "sha256=00", []byte("{}"))
	f.Add("", "", []byte(nil))
	f.Add("-9223372036854775808", "sha256=", []byte("x"))
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		err := siem.Verify(secret, ts, sig, body, now, 5*time.Minute)
		if err == nil {
			n, perr := strconv.ParseInt(ts, 10, 64)
			if perr != nil || sig != siem.Sign(secret, n, body) {
				t.Fatalf("accepted ts %q sig %q", ts, sig)
			}
		}
	})
}

// A receiver that takes at most 3 records a request answers 413 to larger
// batches: the exporter halves its batches until they fit, and delivers
// everything.
func TestWebhookShrinksBatchesOn413(t *testing.T) {
	t.Parallel()
	secret := []byte(strings.Repeat("k", 32))
	recv := newWebhookReceiver(t, secret)
	recv.maxRecords = 3
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "vcguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ingest(t, st, "dev-a", 1, 30)
	dest, err := siem.NewWebhook(siem.WebhookConfig{URL: recv.srv.URL, Secret: secret, CAFile: recv.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	m := siem.NewMetrics(prometheus.NewRegistry())
	run := start(t, &siem.Exporter{Store: st, Dest: dest, Owner: "r", Logger: testLogger(t), Metrics: m,
		Batch: 20, Poll: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	deadline := time.Now().Add(60 * time.Second)
	for value(m.Exported(dest.Name(), siem.KindEvent)) < 30 {
		if time.Now().After(deadline) {
			t.Fatalf("%v events exported", value(m.Exported(dest.Name(), siem.KindEvent)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	run.stop()
	recs, _, _ := recv.snapshot()
	for i, r := range recs {
		if want := "event:dev-a:" + itoa(i+1); get(r, "event.id") != want {
			t.Fatalf("record %d is %v, want %s", i, get(r, "event.id"), want)
		}
	}
	if len(recs) != 30 {
		t.Errorf("%d records received, want 30", len(recs))
	}
	if v := value(m.Failures(dest.Name(), "too_large")); v != 3 {
		t.Errorf("too_large %v, want 3 (20 -> 10 -> 5 -> 2)", v)
	}
}
