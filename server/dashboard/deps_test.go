package dashboard

import (
	"strings"
	"testing"

	"github.com/vcguard/vcguard/internal/importcheck"
)

// The dashboard reads and changes everything through the admin service
// (server/admin), which applies the JSON API's limits and audits every
// change: none of its files imports the store. Its tests may, to lay out
// what they check.
func TestDashboardDoesNotImportStore(t *testing.T) {
	t.Parallel()
	importcheck.Forbid(t, func(path string) string {
		if path == "github.com/vcguard/vcguard/server/store" || strings.HasPrefix(path, "github.com/vcguard/vcguard/server/store/") {
			return "read and change through the admin service (server/admin) instead"
		}
		return ""
	})
}
