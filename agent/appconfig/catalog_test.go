package appconfig

import (
	"testing"

	"github.com/vcguard/vcguard/policies"
)

// The catalog says, per meeting app, what the agent reads of its setup
// (local_setup): every reader's app says it reads something, and an app
// that says so has a reader. So the catalog never promises a check that
// does not exist, nor hides one that does.
func TestCatalogLocalSetupMatchesReaders(t *testing.T) {
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	readers := map[string]bool{}
	for _, r := range Readers() {
		readers[r.AppID()] = true
		app, ok := cat.App(r.AppID())
		if !ok {
			t.Errorf("reader for %q, which is no catalog app", r.AppID())
			continue
		}
		if !app.LocalSetup.Reads() {
			t.Errorf("%s: a reader exists, but the catalog's local_setup does not say what it reads (%s)", app.ID, app.File)
		}
	}
	for _, app := range cat.Apps() {
		if app.LocalSetup.Reads() && !readers[app.ID] {
			t.Errorf("%s: local_setup says the agent reads its setup, but there is no reader (%s)", app.ID, app.File)
		}
	}
}
