package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/server/store"
)

// The secrets form takes the group rule of policies (lower case letters,
// digits and '-', at most 41): a group no policy could target is refused
// with the rule, and no secret is created.
func TestSecretFormGroupRule(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.loggedIn(t, store.RoleAdmin)
	for _, group := range []string{"Radiology", "radiology.ct", "under_score", "-lead", strings.Repeat("r", 42)} {
		resp, body := b.post("/secrets", url.Values{"csrf": {csrf}, "description": {"x"}, "group": {group}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "lower case letters") {
			t.Errorf("group %q: %d, want 400 naming the rule\n%.2000s", group, resp.StatusCode, body)
		}
	}
	if list, err := e.store.EnrollmentSecrets(t.Context()); err != nil || len(list) != 0 {
		t.Fatalf("secrets after refused groups = %+v, %v; want none", list, err)
	}
	for _, group := range []string{"radiology", "ct-2", strings.Repeat("r", 41)} {
		if resp, body := b.post("/secrets", url.Values{"csrf": {csrf}, "description": {"x"}, "group": {group}}); resp.StatusCode != http.StatusOK {
			t.Errorf("group %q: %d, want 200\n%.2000s", group, resp.StatusCode, body)
		}
	}
}
