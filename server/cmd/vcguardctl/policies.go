package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vcguard/vcguard/server/adminapi/apitypes"
)

// commentFlag registers --comment, the change comment that publishing and
// rolling back require.
func commentFlag(usage string) func(fs *flag.FlagSet, o *options) {
	return func(fs *flag.FlagSet, o *options) {
		fs.StringVar(&o.comment, "comment", "", "change comment: "+usage+"; shown in the policy history and the audit log")
	}
}

// requireComment refuses a missing --comment before anything is sent.
func requireComment(e *env, what string) error {
	if strings.TrimSpace(e.opts.comment) == "" {
		return usageError("%s needs --comment: say what changes and why, e.g. --comment 'allow Jitsi for radiology' (shown in the policy history and the audit log)", what)
	}
	return nil
}

// rollout describes how many enrolled devices applied a version.
func rollout(p apitypes.Policy) string {
	if p.Total == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", p.Applied, p.Total)
}

// shorten cuts a table cell to n characters.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func policiesList(ctx context.Context, e *env, _ []string) error {
	var ps []apitypes.Policy
	data, err := e.c.getJSON(ctx, "/api/v1/policies", nil, &ps)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	var current uint64
	for _, p := range ps {
		current = max(current, p.Version)
	}
	t := newTable(e.out, "VERSION", "NAME", "PUBLISHED", "BY", "APPLIED", "COMMENT", "")
	for _, p := range ps {
		mark := ""
		if p.Version == current {
			mark = "current"
		}
		t.row(strconv.FormatUint(p.Version, 10), p.Name, when(p.Published), p.PublishedBy, rollout(p), dash(shorten(p.Comment, 50)), mark)
	}
	return t.flush()
}

// policiesShow prints the document on stdout, so it can be saved, edited and
// applied again; what it is, its comment and rollout go to stderr.
func policiesShow(ctx context.Context, e *env, args []string) error {
	v, err := versionArg(args[0], true)
	if err != nil {
		return err
	}
	var p apitypes.Policy
	data, err := e.c.getJSON(ctx, "/api/v1/policies/"+v, nil, &p)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	fmt.Fprintf(e.log, "policy version %d (%s), published %s by %s\n", p.Version, p.Name, when(p.Published), p.PublishedBy)
	if p.Comment != "" {
		fmt.Fprintf(e.log, "comment: %s\n", p.Comment)
	}
	fmt.Fprintf(e.log, "rollout: %d of %d enrolled devices applied this version or a newer one; %d enforce this version now\n",
		p.Applied, p.Total, p.OnVersion)
	_, err = io.WriteString(e.out, p.Document)
	if err == nil && !strings.HasSuffix(p.Document, "\n") {
		_, err = fmt.Fprintln(e.out)
	}
	return err
}

// versionArg checks a policy version argument before it goes to the server.
func versionArg(s string, currentOK bool) (string, error) {
	if s == "current" && currentOK {
		return s, nil
	}
	if n, err := strconv.ParseUint(s, 10, 64); err != nil || n == 0 {
		if currentOK {
			return "", usageError("policy version %q: want a number (see 'vcguardctl policies') or 'current'", s)
		}
		return "", usageError("policy version %q: want a number (see 'vcguardctl policies')", s)
	}
	return s, nil
}

// readPolicyFile reads a policy document to send.
func readPolicyFile(path string) ([]byte, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	if len(strings.TrimSpace(string(doc))) == 0 {
		return nil, fmt.Errorf("%s is empty: a policy needs at least a name and apps (see policies/examples/)", path)
	}
	return doc, nil
}

// policyFileError turns the server's refusal of a document ("invalid
// input: policy:3: field apps.zoom.status: …") into one that names the
// local file ("my-policy.yaml:3: field apps.zoom.status: …"), and a no-op
// (409) into "my-policy.yaml: not published: the document is identical to
// version N …".
func policyFileError(err error, path string) error {
	ae, ok := err.(*apiError)
	if ok && ae.Status == 409 {
		return fmt.Errorf("%s: not published: %s", path, ae.Message)
	}
	if !ok || ae.Status != 400 {
		return err
	}
	msg := strings.TrimPrefix(ae.Message, "invalid input: ")
	if rest, ok := strings.CutPrefix(msg, "policy:"); ok {
		msg = path + ":" + rest
	} else {
		msg = path + ": " + msg
	}
	return fmt.Errorf("%s\nthe policy was not published; fix the file and run the command again", msg)
}

func policyApply(ctx context.Context, e *env, args []string) error {
	if err := requireComment(e, "policy apply"); err != nil {
		return err
	}
	doc, err := readPolicyFile(args[0])
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]string{"document": string(doc), "comment": e.opts.comment})
	if err != nil {
		return err
	}
	var p apitypes.Policy
	data, err := e.c.postJSON(ctx, "/api/v1/policies", "application/json", body, &p)
	if err != nil {
		return policyFileError(err, args[0])
	}
	if e.json() {
		return e.raw(data)
	}
	fmt.Fprintf(e.out, "published policy version %d (%s); connected agents receive it now\n", p.Version, p.Name)
	return nil
}

func policyValidate(ctx context.Context, e *env, args []string) error {
	doc, err := readPolicyFile(args[0])
	if err != nil {
		return err
	}
	var res struct {
		Name string `json:"name"`
	}
	data, err := e.c.postJSON(ctx, "/api/v1/policies/validate", "application/yaml", doc, &res)
	if err != nil {
		err = policyFileError(err, args[0])
		return fmt.Errorf("%s", strings.Replace(err.Error(), "the policy was not published; ", "", 1))
	}
	if e.json() {
		return e.raw(data)
	}
	fmt.Fprintf(e.out, "%s: valid (policy %q)\n", args[0], res.Name)
	return nil
}

func policyDiff(ctx context.Context, e *env, args []string) error {
	v, err := versionArg(args[0], true)
	if err != nil {
		return err
	}
	q := url.Values{}
	if e.opts.against != "" {
		against, err := versionArg(e.opts.against, true)
		if err != nil {
			return err
		}
		q.Set("against", against)
	}
	var d apitypes.PolicyDiff
	data, err := e.c.getJSON(ctx, "/api/v1/policies/"+v+"/diff", q, &d)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	if d.Diff == "" {
		fmt.Fprintf(e.out, "no difference between version %d and version %d\n", d.From, d.To)
		return nil
	}
	_, err = io.WriteString(e.out, d.Diff)
	return err
}

func policyRollback(ctx context.Context, e *env, args []string) error {
	v, err := versionArg(args[0], false)
	if err != nil {
		return err
	}
	if err := requireComment(e, "policy rollback"); err != nil {
		return err
	}
	body, err := json.Marshal(map[string]string{"comment": e.opts.comment})
	if err != nil {
		return err
	}
	var p apitypes.Policy
	data, err := e.c.postJSON(ctx, "/api/v1/policies/"+v+"/rollback", "application/json", body, &p)
	if ae, ok := err.(*apiError); ok && ae.Status == 409 {
		return fmt.Errorf("not rolled back: %s", ae.Message)
	}
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	fmt.Fprintf(e.out, "published policy version %d (%s) with the document of version %s; connected agents receive it now\n", p.Version, p.Name, v)
	return nil
}
