package dashboard

import (
	"errors"
	"fmt"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"net/http"
	"strings"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

// maxDescriptionLen bounds an enrollment secret's description.
const maxDescriptionLen = 200

// createdSecret is a new enrollment secret with its value, shown once.
type createdSecret struct {
	apitypes.Secret
	Value string
}

func (d *Dashboard) secretsPage(w http.ResponseWriter, r *http.Request, s *store.Session, status int, created *createdSecret, msg string) {
	list, err := d.API.Admin.Store.EnrollmentSecrets(r.Context())
	if err != nil {
		d.serverError(w, "secrets page", err)
		return
	}
	now := d.now()
	type row struct {
		store.EnrollmentSecret
		Usable bool
	}
	rows := make([]row, 0, len(list))
	for _, e := range list {
		rows = append(rows, row{EnrollmentSecret: e, Usable: e.Usable(now)})
	}
	d.render(w, status, "secrets.html", page{Title: "Enrollment secrets", Session: s, CSRF: s.CSRF, Error: msg,
		Data: map[string]any{"Secrets": rows, "Created": created}})
}

func (d *Dashboard) secrets(w http.ResponseWriter, r *http.Request, s *store.Session) {
	d.secretsPage(w, r, s, http.StatusOK, nil, "")
}

// parseTTL reads a lifetime: "" or "0" for none, a Go duration ("72h"), or
// a number of days ("30d").
func parseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err != nil || n < 1 || n > 3650 || fmt.Sprint(n) != days {
			return 0, fmt.Errorf("lifetime %q: want a number of days from 1 to 3650, e.g. 30d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	ttl, err := time.ParseDuration(s)
	if err != nil || ttl < 0 {
		return 0, fmt.Errorf("lifetime %q: want e.g. 30d, 72h, or empty for none", s)
	}
	return ttl, nil
}

func (d *Dashboard) createSecret(w http.ResponseWriter, r *http.Request, s *store.Session) {
	desc := strings.TrimSpace(r.PostForm.Get("description"))
	if desc == "" || len(desc) > maxDescriptionLen {
		d.secretsPage(w, r, s, http.StatusBadRequest, nil, fmt.Sprintf("Describe the secret (at most %d characters), e.g. who uses it.", maxDescriptionLen))
		return
	}
	ttl, err := parseTTL(r.PostForm.Get("ttl"))
	if err != nil {
		d.secretsPage(w, r, s, http.StatusBadRequest, nil, err.Error())
		return
	}
	e, value, err := d.API.Admin.CreateEnrollmentSecret(r.Context(), actor(r, s), desc, strings.TrimSpace(r.PostForm.Get("group")), ttl)
	if errors.Is(err, admin.ErrInvalid) {
		d.secretsPage(w, r, s, http.StatusBadRequest, nil, strings.TrimPrefix(err.Error(), admin.ErrInvalid.Error()+": "))
		return
	}
	if err != nil {
		d.serverError(w, "create enrollment secret", err)
		return
	}
	var expires *time.Time
	if !e.Expires.IsZero() {
		expires = &e.Expires
	}
	d.secretsPage(w, r, s, http.StatusOK, &createdSecret{Secret: apitypes.Secret{ID: e.ID, Description: e.Description,
		Created: e.Created, Expires: expires, Group: e.Group}, Value: value}, "")
}

func (d *Dashboard) revokeSecret(w http.ResponseWriter, r *http.Request, s *store.Session) {
	_, err := d.API.Admin.RevokeEnrollmentSecret(r.Context(), actor(r, s), r.PathValue("secret"))
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.serverError(w, "revoke enrollment secret", err)
		return
	}
	http.Redirect(w, r, "/secrets", http.StatusSeeOther)
}
