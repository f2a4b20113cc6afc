package main

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// entry is a meeting tool whose facts cite base and were checked on the
// days given; lifecycle is left out when withLifecycle is false.
func entry(base, old, recent, future string, withLifecycle bool) string {
	fact := func(name, value, path, day string) string {
		return "  " + name + ": {value: " + value + ", source: '" + base + path + "', checked: '" + day + "'}\n"
	}
	s := "app_id: demo\nname: Demo\nvendor: Demo Inc.\ncategory: meeting\nweb_domains: [demo.example]\nfacts:\n" +
		fact("e2ee", "none", "/ok", old) +
		fact("data_location", "eu", "/ok", recent) +
		fact("self_hostable", "false", "/ok", recent) +
		fact("open_source", "none", "/moved", recent) +
		fact("certifications", "[]", "/gone", future) +
		"  jurisdiction: {value: eu, seat: DE, source: '" + base + "/ok', checked: '" + recent + "'}\n" +
		fact("transfers", "none", "/ok", recent) +
		fact("sso", "none", "/ok", recent) +
		fact("mfa", "none", "/ok", recent) +
		fact("telemetry", "none", "/ok", recent) +
		fact("processor_agreement", "standard", "/ok", recent) +
		fact("business_model", "paid", "/ok", recent)
	if withLifecycle {
		s += fact("lifecycle", "supported", "/ok", recent)
	}
	return s
}

func writeCatalog(t *testing.T, doc string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReportsStaleAndFutureFacts(t *testing.T) {
	now := time.Date(2027, 12, 1, 10, 0, 0, 0, time.UTC)
	dir := writeCatalog(t, entry("https://demo.example", "2026-11-23", "2027-06-01", "2028-01-01", false))
	var out, errb bytes.Buffer
	code := run([]string{"-catalog", dir}, &out, &errb, now, nil)
	if code != 2 || !strings.Contains(errb.String(), "demo.yaml:6: field facts.lifecycle: is required") {
		t.Fatalf("an entry without lifecycle: exit %d, want 2 naming the file, line and fact; stderr:\n%s", code, errb.String())
	}
	dir = writeCatalog(t, entry("https://demo.example", "2026-11-23", "2027-06-01", "2028-01-01", true))
	out.Reset()
	if code := run([]string{"-catalog", dir}, &out, &errb, now, nil); code != 1 {
		t.Fatalf("exit %d, want 1; stdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"demo.yaml: demo: facts.e2ee was checked on 2026-11-23, 373 days ago",
		"demo.yaml: demo: facts.certifications was checked on 2028-01-01, in the future",
		"2 to look at",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "data_location") {
		t.Errorf("a fact checked this year is reported:\n%s", out.String())
	}
	// The same catalog a year earlier, with every fact: nothing to report.
	out.Reset()
	dir = writeCatalog(t, entry("https://demo.example", "2026-11-23", "2026-11-23", "2026-11-23", true))
	if code := run([]string{"-catalog", dir}, &out, &errb, now.AddDate(-1, 0, 0), nil); code != 0 || !strings.Contains(out.String(), "catalog ok: 1 entries") {
		t.Errorf("exit %d, output:\n%s", code, out.String())
	}
}

// Online, every source is requested once and the ones that redirect or
// fail are named with the facts citing them; nothing is fetched without
// -online.
func TestOnlineReportsRedirectsAndFailures(t *testing.T) {
	var (
		mu   sync.Mutex
		hits = map[string]int{}
	)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("fine"))
		case "/moved":
			http.Redirect(w, r, "/new-home", http.StatusMovedPermanently)
		default:
			http.NotFound(w, r)
		}
	}))
	// The client's idle connections closing at the end are no news.
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	defer ts.Close()
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	dir := writeCatalog(t, entry(ts.URL, "2026-12-01", "2026-12-01", "2026-12-01", true))
	var out, errb bytes.Buffer
	if code := run([]string{"-catalog", dir}, &out, &errb, now, ts.Client().Transport); code != 0 || len(hits) != 0 {
		t.Fatalf("offline: exit %d, %d requests; output:\n%s%s", code, len(hits), out.String(), errb.String())
	}
	code := run([]string{"-catalog", dir, "-online"}, &out, &errb, now, ts.Client().Transport)
	if code != 1 {
		t.Fatalf("exit %d, want 1; output:\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		ts.URL + "/moved redirects (301) to /new-home (cited by demo.yaml: facts.open_source)",
		ts.URL + "/gone answers 404 Not Found (cited by demo.yaml: facts.certifications)",
		"2 to look at",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if hits["/ok"] != 1 || hits["/new-home"] != 0 {
		t.Errorf("requests = %v, want /ok once and the redirect not followed", hits)
	}
}

func TestBadCatalogAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	dir := writeCatalog(t, "app_id: demo\nname: Demo\nvendor: D\ncategory: meeting\nweb_domains: [demo.example]\nfacts:\n  e2ee: {value: maybe, source: 'https://x.example', checked: '2026-12-01'}\n")
	if code := run([]string{"-catalog", dir}, &out, &errb, time.Now(), nil); code != 2 || !strings.Contains(errb.String(), "demo.yaml:7") {
		t.Errorf("broken entry: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"extra"}, &out, &errb, time.Now(), nil); code != 2 || !strings.Contains(errb.String(), `unexpected argument "extra"`) {
		t.Errorf("extra argument: exit %d, stderr %q", code, errb.String())
	}
}
