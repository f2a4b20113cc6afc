package docs_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/adminapi"
)

func readmeText(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// section returns the README's text from heading to the next "## ".
func section(t *testing.T, text, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(text, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README has no %q", heading)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// readmeRoute matches a route the README names: `GET /api/…`, `GET/POST
// /api/…`, or `…/rest` after a full one in the same cell.
var readmeRoute = regexp.MustCompile("`((?:GET|POST|PUT|PATCH|DELETE)(?:/(?:GET|POST|PUT|PATCH|DELETE))*) (/api/v1/[^`\\s?\\[]*)|`…(/[^`\\s?\\[]*)")

// The JSON API's routes and the README's table are the same set: every
// route the README names is served (by its pattern, not by luck of a
// catch-all), and every route served is named.
func TestReadmeNamesEveryAPIRoute(t *testing.T) {
	routes := (&adminapi.API{}).Routes()
	mux := http.NewServeMux()
	for _, r := range routes {
		mux.Handle(r.Pattern, http.NotFoundHandler())
	}
	named := map[string]bool{}
	var last string
	for _, line := range strings.Split(section(t, readmeText(t), "## JSON API"), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		for _, m := range readmeRoute.FindAllStringSubmatch(line, -1) {
			methods, path := strings.Split(m[1], "/"), m[2]
			if m[3] != "" { // `…/enable`: beside the route before it
				methods, path = []string{"POST"}, last[:strings.LastIndex(last, "/")]+m[3]
			}
			last = path
			for _, method := range methods {
				req := httptest.NewRequest(method, strings.NewReplacer("{", "", "}", "").Replace(path), nil)
				_, pattern := mux.Handler(req)
				if pattern == "" {
					t.Errorf("README names %s %s, which the JSON API does not serve", method, path)
					continue
				}
				named[pattern] = true
			}
		}
	}
	for _, r := range routes {
		if !named[r.Pattern] {
			t.Errorf("the JSON API serves %s, which README's JSON API section does not name", r.Pattern)
		}
	}
}

// The README's table of event types lists exactly the types events have.
func TestReadmeListsEveryEventType(t *testing.T) {
	text := section(t, readmeText(t), "## JSON API")
	_, table, ok := strings.Cut(text, "| type | what the agent reported |")
	if !ok {
		t.Fatal("README's JSON API section has no event type table")
	}
	var listed []string
	for _, line := range strings.Split(table, "\n")[2:] {
		if !strings.HasPrefix(line, "| ") {
			break
		}
		cell := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(cell, -1) {
			listed = append(listed, m[1])
		}
	}
	slices.Sort(listed)
	if want := vcguardv1.EventTypes(); !slices.Equal(listed, want) {
		t.Errorf("README lists the event types %v, the code has %v", listed, want)
	}
}
