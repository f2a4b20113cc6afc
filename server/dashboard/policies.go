package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
)

// diffLine is one line of a unified diff with its kind for styling:
// add, del, hunk, head or ctx.
type diffLine struct {
	Kind, Text string
}

func diffLines(diff string) []diffLine {
	var out []diffLine
	for line := range strings.Lines(diff) {
		line = strings.TrimRight(line, "\n")
		kind := "ctx"
		switch {
		case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
			kind = "head"
		case strings.HasPrefix(line, "@@"):
			kind = "hunk"
		case strings.HasPrefix(line, "+"):
			kind = "add"
		case strings.HasPrefix(line, "-"):
			kind = "del"
		}
		out = append(out, diffLine{Kind: kind, Text: line})
	}
	return out
}

// editor is the state of the policy editor on the policies page.
type editor struct {
	Document string
	// Valid is set after a successful validation; Problems lists a failed
	// one's errors (file:line: field: message).
	Valid    string
	Problems []string
	// Diff is the unified diff against the current version, once asked.
	Diff     []diffLine
	DiffDone bool
}

// policiesPage renders the history and the editor; status is the HTTP status.
func (d *Dashboard) policiesPage(w http.ResponseWriter, r *http.Request, s *admin.Session, status int, ed *editor, notice string) {
	history, err := d.svc().Policies(r.Context())
	if err != nil {
		d.serverError(w, "policies page", err)
		return
	}
	var current *apitypes.Policy
	if p, err := d.svc().CurrentPolicy(r.Context()); err == nil {
		current = &p
	} else if !errors.Is(err, admin.ErrNotFound) {
		d.serverError(w, "policies page", err)
		return
	}
	if ed == nil {
		ed = &editor{}
		if current != nil {
			ed.Document = current.Document
		}
	}
	d.render(w, status, "policies.html", page{Title: "Policies", Session: s, CSRF: s.CSRF, Notice: notice,
		Data: map[string]any{"History": history, "Current": current, "Editor": ed}})
}

func (d *Dashboard) policies(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	notice := ""
	if v := r.URL.Query().Get("published"); v != "" {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			notice = fmt.Sprintf("Published version %d; connected agents receive it now.", n)
		}
	}
	d.policiesPage(w, r, s, http.StatusOK, nil, notice)
}

// policy shows one version and its diff against the version before it.
func (d *Dashboard) policy(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	n, err := strconv.ParseUint(r.PathValue("version"), 10, 64)
	if err != nil {
		http.Error(w, "policy version must be a number", http.StatusBadRequest)
		return
	}
	p, err := d.svc().Policy(r.Context(), n)
	if errors.Is(err, admin.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.serverError(w, "policy page", err)
		return
	}
	var prev apitypes.Policy
	if n > 1 {
		if prev, err = d.svc().Policy(r.Context(), n-1); err != nil && !errors.Is(err, admin.ErrNotFound) {
			d.serverError(w, "policy page", err)
			return
		}
	}
	var current uint64
	if c := d.currentPolicy(r); c != nil {
		current = c.Version
	}
	d.render(w, http.StatusOK, "policy.html", page{Title: fmt.Sprintf("Policy version %d", p.Version), Session: s, CSRF: s.CSRF,
		Data: map[string]any{"Policy": p, "Diff": diffLines(admin.PolicyDiff(prev, p)), "Current": current}})
}

// formDocument is the editor's policy document with the CRLF line ends
// browsers submit a textarea with turned back into LF.
func formDocument(r *http.Request) string {
	return strings.ReplaceAll(r.PostForm.Get("document"), "\r\n", "\n")
}

// problems splits a validation error into its lines.
func problems(err error) []string {
	var out []string
	for line := range strings.Lines(err.Error()) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func (d *Dashboard) validatePolicy(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	ed := &editor{Document: formDocument(r)}
	p, err := d.svc().ValidatePolicy([]byte(ed.Document))
	if err != nil {
		ed.Problems = problems(errors.New(invalidMessage(err)))
		d.policiesPage(w, r, s, http.StatusUnprocessableEntity, ed, "")
		return
	}
	ed.Valid = p.Name
	d.policiesPage(w, r, s, http.StatusOK, ed, "")
}

func (d *Dashboard) diffPolicy(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	ed := &editor{Document: formDocument(r), DiffDone: true}
	current, err := d.svc().CurrentPolicy(r.Context())
	if err != nil && !errors.Is(err, admin.ErrNotFound) {
		d.serverError(w, "policy diff", err)
		return
	}
	ed.Diff = diffLines(admin.PolicyDiff(current, apitypes.Policy{Version: current.Version + 1, Name: "editor", Document: ed.Document}))
	d.policiesPage(w, r, s, http.StatusOK, ed, "")
}

func (d *Dashboard) publishPolicy(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	doc := formDocument(r)
	v, err := d.svc().PublishPolicy(r.Context(), actor(r, s), []byte(doc))
	if errors.Is(err, admin.ErrInvalid) {
		ed := &editor{Document: doc, Problems: problems(errors.New(invalidMessage(err)))}
		d.policiesPage(w, r, s, http.StatusUnprocessableEntity, ed, "")
		return
	}
	if err != nil {
		d.serverError(w, "publish policy", err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/policies?published=%d", v.Version), http.StatusSeeOther)
}

// rollbackPolicy publishes an earlier version's document again, as a new
// version (agents refuse older version numbers).
func (d *Dashboard) rollbackPolicy(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	n, err := strconv.ParseUint(r.PathValue("version"), 10, 64)
	if err != nil {
		http.Error(w, "policy version must be a number", http.StatusBadRequest)
		return
	}
	old, err := d.svc().Policy(r.Context(), n)
	if errors.Is(err, admin.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.serverError(w, "roll back policy", err)
		return
	}
	v, err := d.svc().RollbackPolicy(r.Context(), actor(r, s), old.Version)
	if errors.Is(err, admin.ErrInvalid) {
		// The old document no longer validates (the catalog changed):
		// show why, with the document in the editor to fix.
		ed := &editor{Document: old.Document, Problems: problems(errors.New(invalidMessage(err)))}
		d.policiesPage(w, r, s, http.StatusUnprocessableEntity, ed, "")
		return
	}
	if err != nil {
		d.serverError(w, "roll back policy", err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/policies?published=%d", v.Version), http.StatusSeeOther)
}
