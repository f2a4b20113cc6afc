package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
)

// maxDescriptionLen bounds an enrollment secret's description.
const maxDescriptionLen = 200

// createdSecret is a new enrollment secret with its value, shown once.
type createdSecret struct {
	apitypes.Secret
	Value string
}

func (d *Dashboard) secretsPage(w http.ResponseWriter, r *http.Request, s *admin.Session, status int, created *createdSecret, msg string) {
	list, err := d.svc().EnrollmentSecrets(r.Context())
	if err != nil {
		d.serverError(w, "secrets page", err)
		return
	}
	d.render(w, status, "secrets.html", page{Title: "Enrollment secrets", Session: s, CSRF: s.CSRF, Error: msg,
		Data: map[string]any{"Secrets": list, "Created": created}})
}

func (d *Dashboard) secrets(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	d.secretsPage(w, r, s, http.StatusOK, nil, "")
}

// parseTTL reads a lifetime: "" or "0" for the default (admin.DefaultSecretTTL),
// a Go duration ("72h"), or a number of days ("30d"), at most
// admin.MaxSecretTTL.
func parseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	maxDays := int(admin.MaxSecretTTL / (24 * time.Hour))
	if s == "" || s == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err != nil || n < 1 || n > maxDays || fmt.Sprint(n) != days {
			return 0, fmt.Errorf("lifetime %q: want a number of days from 1 to %d, e.g. 30d", s, maxDays)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	ttl, err := time.ParseDuration(s)
	if err != nil || ttl <= 0 || ttl > admin.MaxSecretTTL {
		return 0, fmt.Errorf("lifetime %q: want e.g. 30d or 72h (at most %d days), or empty for 7 days", s, maxDays)
	}
	return ttl, nil
}

// parseUses reads a use limit: "" or "0" for none, else 1 to
// admin.MaxSecretUses.
func parseUses(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > admin.MaxSecretUses {
		return 0, fmt.Errorf("devices %q: want a number from 1 to %d, or empty for no limit", s, admin.MaxSecretUses)
	}
	return n, nil
}

func (d *Dashboard) createSecret(w http.ResponseWriter, r *http.Request, s *admin.Session) {
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
	uses, err := parseUses(r.PostForm.Get("max_uses"))
	if err != nil {
		d.secretsPage(w, r, s, http.StatusBadRequest, nil, err.Error())
		return
	}
	e, value, err := d.svc().CreateEnrollmentSecret(r.Context(), actor(r, s), admin.SecretSpec{
		Description: desc, Group: strings.TrimSpace(r.PostForm.Get("group")), TTL: ttl, MaxUses: uses})
	if errors.Is(err, admin.ErrInvalid) {
		d.secretsPage(w, r, s, http.StatusBadRequest, nil, invalidMessage(err))
		return
	}
	if err != nil {
		d.serverError(w, "create enrollment secret", err)
		return
	}
	d.secretsPage(w, r, s, http.StatusOK, &createdSecret{Secret: admin.SecretView(e), Value: value}, "")
}

func (d *Dashboard) revokeSecret(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	_, err := d.svc().RevokeEnrollmentSecret(r.Context(), actor(r, s), r.PathValue("secret"))
	if errors.Is(err, admin.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.serverError(w, "revoke enrollment secret", err)
		return
	}
	http.Redirect(w, r, "/secrets", http.StatusSeeOther)
}
