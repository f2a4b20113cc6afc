package dashboard_test

import (
	"strings"
	"testing"

	"github.com/vcguard/vcguard/server/store"
)

// The device page shows the catalog version the agent reported.
func TestDevicePageShowsCatalogVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, _ := e.loggedIn(t, store.RoleAnalyst)
	if _, body := b.get("/devices/dev-1"); !strings.Contains(body, `<dd id="catalog-version"><span class="none">not reported`) {
		t.Errorf("device page of an agent that reported no catalog version lacks 'not reported':\n%.3000s", body)
	}
	if err := e.store.SetDeviceCatalogVersion(t.Context(), "dev-1", 7); err != nil {
		t.Fatal(err)
	}
	if _, body := b.get("/devices/dev-1"); !strings.Contains(body, `<dd id="catalog-version">version 7</dd>`) {
		t.Errorf("device page lacks the reported catalog version 7:\n%.3000s", body)
	}
}
