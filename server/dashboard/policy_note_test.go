package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/server/store"
)

// A note given per language is validated, published and shown as written
// in the policy's document; a language the agent cannot show is refused
// with its field and line.
func TestPolicyEditorNotesPerLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.loggedIn(t, store.RoleAdmin)
	// The European default, version 1, gives WhatsApp's note in four languages.
	if _, body := b.get("/policies/1"); !strings.Contains(body, "de: Ein privater Messenger, kein verwaltetes Werkzeug für dienstliche Besprechungen.") {
		t.Errorf("version 1 page lacks the German note:\n%.3000s", body)
	}
	bad := "name: Notes\napps:\n  zoom:\n    status: restricted\n    note: {en: Internal only., es: Solo interno.}\n"
	resp, body := b.post("/policies/validate", url.Values{"csrf": {csrf}, "document": {bad}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "policy:5: field apps.zoom.note.es") {
		t.Errorf("validate a note in Spanish: %d\n%.3000s", resp.StatusCode, body)
	}
	doc := "name: Notes\napps:\n  zoom:\n    status: restricted\n    note:\n      en: Internal calls only.\n      de: Nur interne Gespräche.\n"
	if resp, body := b.post("/policies/validate", url.Values{"csrf": {csrf}, "document": {doc}}); resp.StatusCode != http.StatusOK {
		t.Errorf("validate a note per language: %d\n%.3000s", resp.StatusCode, body)
	}
	resp, _ = b.post("/policies", publishForm(csrf, doc, "notes per language"))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/policies?published=2" {
		t.Fatalf("publish: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := b.get("/policies/2"); !strings.Contains(body, "en: Internal calls only.") || !strings.Contains(body, "de: Nur interne Gespräche.") {
		t.Errorf("version 2 page:\n%.3000s", body)
	}
}
