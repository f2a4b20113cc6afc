package dashboard

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vcguard/vcguard/policies"
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

// problem is one reason a document or change was refused: Line is the
// document's line it is about (0: none), Text the whole message.
type problem struct {
	Line int
	Text string
}

// problemsOf turns a refusal into problems, with the line of a field
// error so the editor can mark it.
func problemsOf(err error) []problem {
	var fe *policies.FieldError
	line := 0
	if errors.As(err, &fe) {
		line = fe.Line
	}
	var out []problem
	for text := range strings.Lines(invalidMessage(err)) {
		if text = strings.TrimSpace(text); text != "" {
			out = append(out, problem{Line: line, Text: text})
		}
	}
	return out
}

// editor is the state of the policy editor on the policies page.
type editor struct {
	Document string
	// Comment is the change comment typed so far.
	Comment string
	// Valid is set after a successful validation; Problems lists a failed
	// one's errors (file:line: field: message), or why a publish was
	// refused.
	Valid    string
	Problems []problem
	// Refused heads the problems: what was not done ("Not published",
	// "Not rolled back"); empty after Validate.
	Refused string
	// Diff is the unified diff against the current version, once asked.
	Diff     []diffLine
	DiffDone bool
	// Review is set when a valid, changed document with its comment waits
	// for the publisher's confirmation; Next is the version it becomes.
	Review bool
	Next   uint64
	// Reviewed is the digest of the reviewed document: the confirmation
	// publishes only that document.
	Reviewed string
}

// reviewDigest identifies a reviewed document.
func reviewDigest(document string) string {
	sum := sha256.Sum256([]byte(document))
	return hex.EncodeToString(sum[:])
}

// policiesPage renders the history and the editor; status is the HTTP status.
func (d *Dashboard) policiesPage(w http.ResponseWriter, r *http.Request, s *admin.Session, status int, ed *editor, notice string) {
	history, err := d.svc().Policies(r.Context())
	if err != nil {
		d.serverError(w, "policies page", err)
		return
	}
	var current *apitypes.Policy
	if len(history) > 0 {
		current = &history[0]
	}
	if ed == nil {
		ed = &editor{}
		if current != nil {
			// The history is listed without documents.
			p, err := d.svc().Policy(r.Context(), current.Version)
			if err != nil {
				d.serverError(w, "policies page", err)
				return
			}
			ed.Document = p.Document
		}
	}
	nonce := ""
	if s.Role == admin.RoleAdmin {
		nonce = styleNonce(w)
	}
	d.render(w, status, "policies.html", page{Title: "Policies", Session: s, CSRF: s.CSRF, Notice: notice,
		Data: map[string]any{"History": history, "Current": current, "Editor": ed, "Nonce": nonce}})
}

// styleNonce allows this response's <style> elements that carry the nonce
// it returns: CodeMirror writes its styles into style elements, which a
// style-src of 'self' alone refuses, and 'unsafe-inline' would allow any.
// It changes the Content-Security-Policy the SecurityHeaders wrapper set;
// without one it returns "".
func styleNonce(w http.ResponseWriter) string {
	const self = "style-src 'self'"
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, self) {
		return ""
	}
	nonce := randomToken()
	w.Header().Set("Content-Security-Policy", strings.Replace(csp, self, self+" 'nonce-"+nonce+"'", 1))
	return nonce
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

// policy shows one version, its comment and rollout, and its diff against
// the version before it.
func (d *Dashboard) policy(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	n, err := strconv.ParseUint(r.PathValue("version"), 10, 64)
	if err != nil {
		http.Error(w, "policy version must be a number", http.StatusBadRequest)
		return
	}
	d.policyPage(w, r, s, http.StatusOK, n, "", nil)
}

// policyPage renders version n; problems say why a rollback was refused,
// comment is its change comment, kept in the form.
func (d *Dashboard) policyPage(w http.ResponseWriter, r *http.Request, s *admin.Session, status int, n uint64, comment string, problems []problem) {
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
	d.render(w, status, "policy.html", page{Title: fmt.Sprintf("Policy version %d", p.Version), Session: s, CSRF: s.CSRF,
		Data: map[string]any{"Policy": p, "Diff": diffLines(admin.PolicyDiff(prev, p)), "Current": current, "Problems": problems, "Comment": comment}})
}

// formDocument is the editor's policy document with the CRLF line ends
// browsers submit a textarea with turned back into LF.
func formDocument(r *http.Request) string {
	return strings.ReplaceAll(r.PostForm.Get("document"), "\r\n", "\n")
}

func (d *Dashboard) validatePolicy(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	ed := &editor{Document: formDocument(r), Comment: r.PostForm.Get("comment")}
	p, err := d.svc().ValidatePolicy([]byte(ed.Document))
	if err != nil {
		ed.Problems = problemsOf(err)
		d.policiesPage(w, r, s, http.StatusUnprocessableEntity, ed, "")
		return
	}
	ed.Valid = p.Name
	d.policiesPage(w, r, s, http.StatusOK, ed, "")
}

// diffAgainstCurrent fills ed's diff against the version in force.
func (d *Dashboard) diffAgainstCurrent(r *http.Request, ed *editor) (apitypes.Policy, error) {
	current, err := d.svc().CurrentPolicy(r.Context())
	if err != nil && !errors.Is(err, admin.ErrNotFound) {
		return current, err
	}
	ed.DiffDone = true
	ed.Diff = diffLines(admin.PolicyDiff(current, apitypes.Policy{Version: current.Version + 1, Name: "editor", Document: ed.Document}))
	return current, nil
}

func (d *Dashboard) diffPolicy(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	ed := &editor{Document: formDocument(r), Comment: r.PostForm.Get("comment")}
	if _, err := d.diffAgainstCurrent(r, ed); err != nil {
		d.serverError(w, "policy diff", err)
		return
	}
	d.policiesPage(w, r, s, http.StatusOK, ed, "")
}

// publishPolicy publishes in two steps: the first POST checks the
// document and comment and shows the changes for review (a document
// identical to the version in force is refused there); the second, with
// confirm=yes, publishes.
func (d *Dashboard) publishPolicy(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	ed := &editor{Document: formDocument(r), Comment: r.PostForm.Get("comment")}
	if r.PostForm.Get("confirm") != "yes" || r.PostForm.Get("reviewed") != reviewDigest(ed.Document) {
		// Also when the document changed after its review: review the
		// changes again.
		d.reviewPolicy(w, r, s, ed)
		return
	}
	v, err := d.svc().PublishPolicy(r.Context(), actor(r, s), []byte(ed.Document), ed.Comment)
	switch {
	case errors.Is(err, admin.ErrInvalid):
		ed.Problems, ed.Refused = problemsOf(err), "Not published"
		d.policiesPage(w, r, s, http.StatusUnprocessableEntity, ed, "")
	case errors.Is(err, admin.ErrUnchanged):
		ed.Problems, ed.Refused = []problem{{Text: err.Error() + "."}}, "Not published"
		d.policiesPage(w, r, s, http.StatusConflict, ed, "")
	case err != nil:
		d.serverError(w, "publish policy", err)
	default:
		http.Redirect(w, r, fmt.Sprintf("/policies?published=%d", v.Version), http.StatusSeeOther)
	}
}

// reviewPolicy is publishing's first step.
func (d *Dashboard) reviewPolicy(w http.ResponseWriter, r *http.Request, s *admin.Session, ed *editor) {
	ed.Refused = "Not published"
	if _, err := d.svc().ValidatePolicy([]byte(ed.Document)); err != nil {
		ed.Problems = problemsOf(err)
		d.policiesPage(w, r, s, http.StatusUnprocessableEntity, ed, "")
		return
	}
	if _, err := admin.ValidateComment(ed.Comment); err != nil {
		ed.Problems = problemsOf(err)
		d.policiesPage(w, r, s, http.StatusUnprocessableEntity, ed, "")
		return
	}
	current, err := d.diffAgainstCurrent(r, ed)
	if err != nil {
		d.serverError(w, "review policy", err)
		return
	}
	if current.Version > 0 && current.Document == ed.Document {
		ed.DiffDone, ed.Diff = false, nil
		ed.Problems = []problem{{Text: fmt.Sprintf("the document is identical to version %d, the version in force: nothing to publish.", current.Version)}}
		d.policiesPage(w, r, s, http.StatusConflict, ed, "")
		return
	}
	ed.Review, ed.Next, ed.Reviewed = true, current.Version+1, reviewDigest(ed.Document)
	d.policiesPage(w, r, s, http.StatusOK, ed, "")
}

// rollbackPolicy publishes an earlier version's document again, as a new
// version (agents refuse older version numbers), with the change comment
// of the rollback form.
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
	comment := r.PostForm.Get("comment")
	v, err := d.svc().RollbackPolicy(r.Context(), actor(r, s), old.Version, comment)
	var fe *policies.FieldError
	switch {
	case errors.As(err, &fe):
		// The old document no longer validates (the catalog changed):
		// show why, with the document in the editor to fix.
		ed := &editor{Document: old.Document, Comment: comment, Problems: problemsOf(err), Refused: fmt.Sprintf("Not rolled back to version %d", n)}
		d.policiesPage(w, r, s, http.StatusUnprocessableEntity, ed, "")
	case errors.Is(err, admin.ErrInvalid):
		d.policyPage(w, r, s, http.StatusUnprocessableEntity, n, comment, problemsOf(err))
	case errors.Is(err, admin.ErrUnchanged):
		d.policyPage(w, r, s, http.StatusConflict, n, comment, []problem{{Text: err.Error() + "."}})
	case err != nil:
		d.serverError(w, "roll back policy", err)
	default:
		http.Redirect(w, r, fmt.Sprintf("/policies?published=%d", v.Version), http.StatusSeeOther)
	}
}

// checkPolicy validates the editor's document for the editor's live
// check (a fetch while the administrator types): 200 with
// {"name": "…"} when valid, else {"problems": [{"line": N, "message": "…"}]}.
func (d *Dashboard) checkPolicy(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	type checkProblem struct {
		Line    int    `json:"line"`
		Message string `json:"message"`
	}
	out := struct {
		Name     string         `json:"name,omitempty"`
		Problems []checkProblem `json:"problems"`
	}{Problems: []checkProblem{}}
	p, err := d.svc().ValidatePolicy([]byte(formDocument(r)))
	switch {
	case errors.Is(err, admin.ErrInvalid):
		for _, pr := range problemsOf(err) {
			out.Problems = append(out.Problems, checkProblem{Line: pr.Line, Message: pr.Text})
		}
	case err != nil:
		d.serverError(w, "check policy", err)
		return
	default:
		out.Name = p.Name
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		d.Logger.Error("check policy", "err", err)
	}
}
