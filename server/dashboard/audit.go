package dashboard

import (
	"errors"
	"net/http"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi"
)

// audit shows the audit log, newest first, filtered by ?actor= and
// ?action=, paged with ?before=.
func (d *Dashboard) audit(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	f, err := adminapi.AuditQueryFrom(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pg, err := d.svc().AuditLog(r.Context(), f)
	if errors.Is(err, admin.ErrInvalid) {
		http.Error(w, invalidMessage(err), http.StatusBadRequest)
		return
	}
	if err != nil && !errors.Is(err, admin.ErrNotFound) {
		d.Logger.Error("audit page", "err", err)
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	d.render(w, http.StatusOK, "audit.html", page{Title: "Audit log", Session: s, CSRF: s.CSRF,
		Data: map[string]any{"Entries": pg.Entries, "Actor": f.Actor, "Action": f.Action, "Older": pg.Next}})
}
