package adminapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/server/store"
)

// The JSON API takes the group rule of policies: a group no policy could
// target ("Radiology") is refused with 400 naming the rule, and nothing is
// created or audited.
func TestCreateSecretGroupRule(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokens[store.RoleAdmin]
	for _, group := range []string{"Radiology", "radiology.ct", "under_score", "-lead", "a b", strings.Repeat("r", 42)} {
		resp, b := e.do(t, "POST", "/api/v1/enrollment-secrets", admin, []byte(`{"description": "x", "group": "`+group+`"}`))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "lower case letters") {
			t.Errorf("group %q: %d %s, want 400 naming the rule", group, resp.StatusCode, b)
		}
	}
	if list, err := e.store.EnrollmentSecrets(t.Context()); err != nil || len(list) != 0 {
		t.Errorf("secrets after refused groups = %+v, %v; want none", list, err)
	}
	if log, err := e.store.AuditLog(t.Context(), store.AuditFilter{}); err != nil || len(log) != 0 {
		t.Errorf("audit log after refused groups = %+v, %v; want empty", log, err)
	}
	for _, group := range []string{"", "radiology", "ct-2", strings.Repeat("r", 41)} {
		resp, b := e.do(t, "POST", "/api/v1/enrollment-secrets", admin, []byte(`{"description": "x", "group": "`+group+`"}`))
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("group %q: %d %s, want 201", group, resp.StatusCode, b)
		}
	}
}
