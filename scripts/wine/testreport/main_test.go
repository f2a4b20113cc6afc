package main

import (
	"bytes"
	"strings"
	"testing"
)

// Events as `go tool test2json` writes them for parallel tests, where a
// skip's reason is not next to its SKIP line.
const events = `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"=== RUN   TestB\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:12: Wine 8 lacks it\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:40: got 1, want 2\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- SKIP: TestA (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestB","Output":"--- FAIL: TestB (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestB"}
{"Action":"fail","Package":"p"}
`

func TestReport(t *testing.T) {
	var skips, fails bytes.Buffer
	failed, err := report(strings.NewReader(events), &skips, &fails)
	if err != nil || !failed {
		t.Fatalf("report = %v, %v; want failed", failed, err)
	}
	if got, want := skips.String(), "p.TestA: Wine 8 lacks it\n"; got != want {
		t.Errorf("skips = %q, want %q", got, want)
	}
	if !strings.Contains(fails.String(), "--- FAIL: p.TestB") || !strings.Contains(fails.String(), "got 1, want 2") {
		t.Errorf("fails = %q", fails.String())
	}
}

func TestReportNoVerdict(t *testing.T) {
	var skips, fails bytes.Buffer
	in := `{"Action":"output","Package":"p","Test":"TestA","Output":"panic: boom\n"}` + "\n"
	failed, err := report(strings.NewReader(in), &skips, &fails)
	if err != nil || !failed || !strings.Contains(fails.String(), "panic: boom") {
		t.Errorf("report = %v, %v, %q; want failed with the output", failed, err, fails.String())
	}
}

func TestReportPass(t *testing.T) {
	var skips, fails bytes.Buffer
	in := `{"Action":"pass","Package":"p","Test":"TestA"}` + "\n" + `{"Action":"pass","Package":"p"}` + "\n"
	if failed, err := report(strings.NewReader(in), &skips, &fails); err != nil || failed {
		t.Errorf("report = %v, %v; want passed", failed, err)
	}
}
