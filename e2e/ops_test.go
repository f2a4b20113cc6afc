package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsAndCtl: a real agent enrolls and streams to a real server with
// --metrics-addr; Prometheus' text format scraped from it counts the agent,
// its enrollment, its events and their store latency; a policy applied with
// the real vcguardctl reaches the agent and shows in the push latency.
func TestMetricsAndCtl(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	var s *server
	var metricsAddr string
	for attempt := 0; ; attempt++ {
		metricsAddr = freeAddr(t)
		var err error
		s, err = tryStartServer(t, filepath.Join(root, "data"), freeAddr(t), freeAddr(t), "--metrics-addr", metricsAddr)
		if errors.Is(err, errPortTaken) && attempt < 5 {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	startAgent(t, s, filepath.Join(t.TempDir(), "agent"))
	waitFor(t, 20*time.Second, "the agent online with its inventory stored", func() bool {
		devs := s.devices(t)
		if len(devs) != 1 || !devs[0].Online {
			return false
		}
		return sum(scrapeMetrics(t, metricsAddr), "vcguard_events_ingested_total") > 0
	})
	m := scrapeMetrics(t, metricsAddr)
	for name, want := range map[string]float64{
		"vcguard_agents_connected":                   1,
		`vcguard_enrollments_total{result="ok"}`:     1,
		`vcguard_enrollments_total{result="denied"}`: 0,
	} {
		if got := sum(m, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := sum(m, `vcguard_store_seconds{op="ingest"}`); got < 1 {
		t.Errorf("vcguard_store_seconds{op=ingest} has %v observations, want at least 1", got)
	}

	ctl := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		out, err := runCmd(ctx, "vcguardctl", append([]string{"--server", "https://" + s.httpAddr,
			"--cacert", filepath.Join(s.data, "ca.pem"), "--token-file", filepath.Join(s.data, "admin-token")}, args...)...)
		if err != nil {
			t.Fatalf("vcguardctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	devs := s.devices(t)
	if out := ctl("devices"); !strings.Contains(out, devs[0].ID) || !strings.Contains(out, "online") {
		t.Errorf("vcguardctl devices:\n%s", out)
	}
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policy, []byte("name: Monitor\napps:\n  jitsi-meet: {status: approved}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := ctl("policy", "apply", policy, "--comment", "monitor Jitsi only"); !strings.Contains(out, "published policy version 2") {
		t.Errorf("vcguardctl policy apply:\n%s", out)
	}
	waitFor(t, 15*time.Second, "the agent on policy 2", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].PolicyVersion == 2
	})
	m = scrapeMetrics(t, metricsAddr)
	if got := sum(m, "vcguard_policy_push_seconds"); got != 1 {
		t.Errorf("vcguard_policy_push_seconds has %v observations, want 1", got)
	}
	if got := sum(m, `vcguard_events_ingested_total{type="policy_applied"}`); got < 1 {
		t.Errorf(`vcguard_events_ingested_total{type="policy_applied"} = %v, want at least 1`, got)
	}
}

// scrapeMetrics reads /metrics as Prometheus does and parses the text format.
func scrapeMetrics(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the metrics: %v", err)
	}
	return families
}

// sum adds the values (a histogram's sample counts) of the series that
// selector names: "name" or `name{label="value"}` with one label.
func sum(families map[string]*dto.MetricFamily, selector string) float64 {
	name, label, _ := strings.Cut(strings.TrimSuffix(selector, "}"), "{")
	key, value, _ := strings.Cut(label, "=")
	value = strings.Trim(value, `"`)
	var total float64
	for _, m := range families[name].GetMetric() {
		if key != "" {
			match := false
			for _, l := range m.GetLabel() {
				match = match || (l.GetName() == key && l.GetValue() == value)
			}
			if !match {
				continue
			}
		}
		switch {
		case m.GetCounter() != nil:
			total += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			total += m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}
