package dashboard

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseDeviceView(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		query string
		// want is the view's query string back; wantParam the
		// parameter a refusal names ("" for none).
		want, wantParam string
		within, over    time.Duration
		limit           int
	}{
		{query: "", want: "", limit: 100},
		{query: "q=+lap+&os=linux&group=eng&app=zoom&verdict=forbidden&status=online", want: "?app=zoom&group=eng&os=linux&q=lap&status=online&verdict=forbidden", limit: 100},
		{query: "seen=within-24h", want: "?seen=within-24h", within: 24 * time.Hour, limit: 100},
		{query: "seen=over-30d", want: "?seen=over-30d", over: 30 * 24 * time.Hour, limit: 100},
		{query: "sort=-last_seen&limit=25", want: "?limit=25&sort=-last_seen", limit: 25},
		{query: "sort=hostname", want: "?sort=hostname", limit: 100},
		{query: "sort=verdict&cursor=abc", want: "?sort=verdict", limit: 100},
		{query: "verdict=bogus", wantParam: "verdict"},
		{query: "status=asleep", wantParam: "status"},
		{query: "seen=yesterday", wantParam: "seen"},
		{query: "seen=within-0d", wantParam: "seen"},
		{query: "seen=within-5m", wantParam: "seen"},
		{query: "seen=over-99999d", wantParam: "seen"},
		{query: "seen=around-1d", wantParam: "seen"},
		{query: "sort=name", wantParam: "sort"},
		{query: "sort=--os", wantParam: "sort"},
		{query: "limit=0", wantParam: "limit"},
		{query: "limit=1001", wantParam: "limit"},
		{query: "limit=ten", wantParam: "limit"},
		{query: "os=linux&os=windows", wantParam: "os"},
		{query: "q=" + strings.Repeat("x", 201), wantParam: "q"},
	} {
		q, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		v, dq, err := parseDeviceView(q, 100)
		if c.wantParam != "" {
			var bp *badParam
			if !errors.As(err, &bp) || bp.name != c.wantParam || bp.StatusCode() != 400 || !strings.HasPrefix(err.Error(), c.wantParam+"=") {
				t.Errorf("%q: error %v, want a 400 naming %s", c.query, err, c.wantParam)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.query, err)
			continue
		}
		if got := v.Query(); got != c.want {
			t.Errorf("%q: view %q, want %q", c.query, got, c.want)
		}
		if dq.SeenWithin != c.within || dq.NotSeenFor != c.over || dq.Limit != c.limit {
			t.Errorf("%q: query %+v", c.query, dq)
		}
	}
}

func TestDeviceViewSortLinks(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		sort, key, link, mark string
	}{
		{"", "hostname", "?sort=-hostname", "▲"},
		{"-hostname", "hostname", "", "▼"},
		{"", "os", "?group=eng&sort=os", ""},
		{"os", "os", "?group=eng&sort=-os", "▲"},
		{"-os", "os", "?group=eng&sort=os", "▼"},
		{"-os", "last_seen", "?group=eng&sort=last_seen", ""},
	} {
		v := deviceView{Group: "eng", Sort: c.sort}
		link := v.SortQuery(c.key)
		if c.key == "hostname" {
			v.Group = ""
			link = v.SortQuery(c.key)
		}
		if link != c.link || v.SortMark(c.key) != c.mark {
			t.Errorf("sorted %q, column %s: link %q mark %q; want %q %q", c.sort, c.key, link, v.SortMark(c.key), c.link, c.mark)
		}
	}
	// A page link keeps the view and drops the other position.
	v := deviceView{App: "zoom", Sort: "-verdict", Limit: 10}
	if got := v.PageQuery("before", "c1"); got != "?app=zoom&before=c1&limit=10&sort=-verdict" {
		t.Errorf("PageQuery = %q", got)
	}
}

func FuzzParseDeviceView(f *testing.F) {
	for _, s := range []string{"", "seen=within-7d", "sort=-os&limit=5", "verdict=forbidden&app=zoom", "seen=over-", "limit=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		v, dq, err := parseDeviceView(q, 100)
		if err != nil {
			var bp *badParam
			if !errors.As(err, &bp) || bp.name == "" {
				t.Fatalf("%q: error %v names no parameter", raw, err)
			}
			return
		}
		if dq.Limit < 1 || dq.Limit > 1000 || dq.SeenWithin < 0 || dq.NotSeenFor < 0 {
			t.Fatalf("%q: query out of bounds: %+v", raw, dq)
		}
		// The view's own query string reads back as the same view.
		q2, err := url.ParseQuery(strings.TrimPrefix(v.Query(), "?"))
		if err != nil {
			t.Fatal(err)
		}
		v2, _, err := parseDeviceView(q2, 100)
		if err != nil || v2 != v {
			t.Fatalf("%q: view %+v reads back as %+v, %v", raw, v, v2, err)
		}
	})
}
