package dashboard_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/server/store"
)

// Every CSV export is in the audit log (who, which file, which filter)
// before its data is sent; an export that cannot be audited sends nothing.
func TestExportsAreAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ingestFleet(t, e)
	b, _ := e.loggedIn(t, store.RoleAnalyst)
	for _, path := range []string{"/devices.csv?os=linux", "/apps.csv", "/overview.csv", "/devices/dev-1/timeline.csv"} {
		resp, body := b.get(path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%s: %d %.200s", path, resp.StatusCode, body)
		}
	}
	log, err := e.store.AuditLog(t.Context(), store.AuditFilter{Action: "export"})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, a := range log {
		var d struct{ File, Query string }
		if err := json.Unmarshal(a.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if a.Actor != e.accounts[store.RoleAnalyst].Username || a.RemoteAddr == "" {
			t.Errorf("export entry %+v: want the analyst and an address", a)
		}
		files[d.File] = d.Query
	}
	for file, query := range map[string]string{"devices.csv": "os=linux", "apps.csv": "", "overview.csv": "", "timeline-dev-1.csv": ""} {
		if got, ok := files[file]; !ok || got != query {
			t.Errorf("export of %s: audited %v with query %q, want query %q (all: %v)", file, ok, got, query, files)
		}
	}

	// The audit log refuses every entry from now on (a full disk, say).
	e.te.Exec(t, 1, `CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log refused'); END`,
		func(int) []any { return nil })
	resp, body := b.get("/devices.csv")
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "dev-1") {
		t.Errorf("an export whose audit entry is refused: %d %.200s; want 500 and no data", resp.StatusCode, body)
	}
}
