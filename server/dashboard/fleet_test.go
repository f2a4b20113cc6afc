package dashboard

import (
	"testing"
	"time"
)

func TestCSVCell(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                    "",
		"laptop-1":            "laptop-1",
		"=HYPERLINK(\"x\")":   "'=HYPERLINK(\"x\")",
		"+1":                  "'+1",
		"-2+3":                "'-2+3",
		"@SUM(A1)":            "'@SUM(A1)",
		"\t=1":                "'\t=1",
		"a=b":                 "a=b",
		"zoom 6.1 (approved)": "zoom 6.1 (approved)",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDayChart(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 14, 15, 0, 0, 0, time.UTC)
	c := dayChart(now, []time.Time{
		now, now.Add(-time.Hour), // today, twice
		time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),   // the first day
		time.Date(2026, 4, 30, 23, 0, 0, 0, time.UTC), // before the window
	})
	if len(c.Bars) != chartDays || c.Total != 3 || c.Max != 2 {
		t.Fatalf("chart: %d bars, total %d, max %d", len(c.Bars), c.Total, c.Max)
	}
	if b := c.Bars[0]; b.Date != "2026-05-01" || b.Count != 1 || b.Height != chartPlot/2 {
		t.Errorf("first bar %+v", b)
	}
	if b := c.Bars[chartDays-1]; b.Date != "2026-05-14" || b.Count != 2 || b.Height != chartPlot || b.Y != chartTop {
		t.Errorf("last bar %+v", b)
	}
}

func TestParseTTL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"": 0, "0": 0, "30d": 30 * 24 * time.Hour, "72h": 72 * time.Hour} {
		if got, err := parseTTL(in); err != nil || got != want {
			t.Errorf("parseTTL(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"x", "-1h", "0d", "1.5d", "d", "367d", "9000h"} {
		if _, err := parseTTL(in); err == nil {
			t.Errorf("parseTTL(%q) accepted", in)
		}
	}
}
