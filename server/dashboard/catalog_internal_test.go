package dashboard

import (
	"testing"
	"time"
)

func TestAgeOf(t *testing.T) {
	t.Parallel()
	// Late in the evening: ages count calendar days in UTC.
	now := time.Date(2027, 3, 15, 23, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		checked string
		want    factAge
	}{
		{"2027-03-15", factAge{Text: "today"}},
		{"2027-03-14", factAge{Text: "1 day ago"}},
		{"2027-02-13", factAge{Text: "30 days ago"}},
		{"2027-01-14", factAge{Text: "60 days ago"}},
		{"2027-01-13", factAge{Text: "2 months ago"}},
		{"2026-04-16", factAge{Text: "10 months ago"}},
		{"2026-03-16", factAge{Text: "11 months ago"}},
		// Exactly twelve months is not yet older than twelve months.
		{"2026-03-15", factAge{Text: "12 months ago"}},
		{"2026-03-14", factAge{Text: "12 months ago", Old: true}},
		{"2026-02-14", factAge{Text: "13 months ago", Old: true}},
		{"2025-03-15", factAge{Text: "2 years ago", Old: true}},
		{"2024-01-01", factAge{Text: "3 years, 2 months ago", Old: true}},
		{"2027-03-16", factAge{Text: "dated after today", Future: true}},
		{"15/03/2027", factAge{Text: "no valid date", Invalid: true}},
		{"", factAge{Text: "no valid date", Invalid: true}},
	} {
		if got := ageOf(tc.checked, now); got != tc.want {
			t.Errorf("ageOf(%q) = %+v, want %+v", tc.checked, got, tc.want)
		}
	}
	// A clock in another zone counts the same UTC day.
	if got := ageOf("2027-03-15", now.In(time.FixedZone("UTC+2", 2*3600))); got.Text != "today" {
		t.Errorf("in UTC+2: %+v, want today", got)
	}
}

func TestHTTPSURL(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"https://example.org/privacy": true,
		"http://example.org/":         false,
		"javascript:alert(1)":         false,
		"https:///nohost":             false,
		"//example.org/":              false,
		"":                            false,
	} {
		if got := httpsURL(s); got != want {
			t.Errorf("httpsURL(%q) = %v, want %v", s, got, want)
		}
	}
}
