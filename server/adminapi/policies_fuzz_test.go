package adminapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// FuzzParsePublishRequest: the body of POST /api/v1/policies comes from
// any admin client. A bare document is taken as sent; a JSON envelope
// either decodes to exactly its two fields or is a 400 naming the body.
func FuzzParsePublishRequest(f *testing.F) {
	for _, s := range []string{`{"document": "name: x\n", "comment": "c"}`, `{"name": "x"}`, `{"document": 1}`, `{} {}`, `[`, "name: x\n", ``, `{"document":"\u0000"}`} {
		f.Add(true, s)
		f.Add(false, s)
	}
	f.Fuzz(func(t *testing.T, asJSON bool, body string) {
		req, err := parsePublishRequest(asJSON, "from the query", []byte(body))
		if !asJSON {
			if err != nil || req.Document != body || req.Comment != "from the query" {
				t.Fatalf("bare document %q: %+v, %v", body, req, err)
			}
			return
		}
		var he *httpError
		if err != nil {
			if !errors.As(err, &he) || he.status != http.StatusBadRequest {
				t.Fatalf("envelope %q: %v, want a 400", body, err)
			}
			return
		}
		// Accepted: a JSON object (or null) whose only keys are document
		// and comment (encoding/json matches names without regard to case).
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("accepted %q, which is not a JSON object: %v", body, err)
		}
		for k := range m {
			if !strings.EqualFold(k, "document") && !strings.EqualFold(k, "comment") {
				t.Fatalf("accepted %q with the field %q", body, k)
			}
		}
	})
}
