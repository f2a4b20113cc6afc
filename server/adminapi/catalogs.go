package adminapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/auth"
)

// listCatalogs answers the newest catalog versions, newest first.
func (a *API) listCatalogs(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	cs, err := a.Admin.Catalogs(r.Context())
	if err != nil {
		return err
	}
	out := []apitypes.Catalog{}
	for _, c := range cs {
		out = append(out, admin.CatalogView(c))
	}
	return writeJSON(w, http.StatusOK, out)
}

// publishCatalog publishes a catalog bundle (the body, as vcguardctl
// catalog publish encodes it): 201 with the version, 400 naming the entry
// file and line that does not load, 409 for a version not above the
// current one.
func (a *API) publishCatalog(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	bundle, err := io.ReadAll(http.MaxBytesReader(w, r.Body, admin.MaxCatalogBundleSize))
	if err != nil {
		return &httpError{http.StatusRequestEntityTooLarge, "catalog bundle too large or unreadable"}
	}
	c, err := a.Admin.PublishCatalog(r.Context(), httpActor(r, p), bundle)
	if errors.Is(err, admin.ErrCatalogNotNewer) {
		return &httpError{http.StatusConflict, err.Error()}
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, admin.CatalogView(c))
}
