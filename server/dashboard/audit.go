package dashboard

import (
	"errors"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"net/http"

	"github.com/vcguard/vcguard/server/adminapi"
	"github.com/vcguard/vcguard/server/store"
)

// audit shows the audit log, newest first, filtered by ?actor= and
// ?action=, paged with ?before=.
func (d *Dashboard) audit(w http.ResponseWriter, r *http.Request, s *store.Session) {
	f, err := adminapi.AuditFilterFromQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	limit := f.Limit
	f.Limit++ // one more tells whether older entries follow
	entries, err := d.API.Admin.Store.AuditLog(r.Context(), f)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		d.Logger.Error("audit page", "err", err)
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	more := len(entries) > limit
	entries = entries[:min(len(entries), limit)]
	views := make([]apitypes.AuditEntry, 0, len(entries))
	for _, e := range entries {
		views = append(views, adminapi.AuditView(e))
	}
	var older int64
	if more {
		older = entries[len(entries)-1].ID
	}
	d.render(w, http.StatusOK, "audit.html", page{Title: "Audit log", Session: s, CSRF: s.CSRF,
		Data: map[string]any{"Entries": views, "Actor": f.Actor, "Action": f.Action, "Older": older}})
}
