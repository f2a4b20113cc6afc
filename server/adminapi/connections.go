package adminapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/auth"
)

// listConnections answers, per app, the servers and accounts the devices
// are set up for, with device counts (admin.Connections; bounded there).
func (a *API) listConnections(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	apps, err := a.Admin.Connections(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string][]apitypes.AppConnections{"apps": apps})
}

// browserMeetings answers the counts of calls held in a browser since
// ?since= (RFC 3339), by default over the last admin.BrowserMeetingWindow.
func (a *API) browserMeetings(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	since := a.Admin.Now().Add(-admin.BrowserMeetingWindow)
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("%w: since %q: want a time in RFC 3339 form, e.g. 2026-03-01T00:00:00Z", admin.ErrInvalid, v)
		}
		since = t
	}
	out, err := a.Admin.BrowserMeetings(r.Context(), since)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
