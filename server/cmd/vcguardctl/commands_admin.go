package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vcguard/vcguard/server/adminapi/apitypes"
)

// Commands of the routes for device revocation, API tokens, administrator
// accounts and the audit log.

// defaultRole is the role of a new account or token without --role: the
// least privileged (the server's default too).
const defaultRole = "auditor"

// checkRole refuses a role the server does not know before asking it.
func checkRole(role string) error {
	switch role {
	case "admin", "analyst", "auditor":
		return nil
	}
	return usageError("--role %q: want auditor (audit log only), analyst (reads the fleet) or admin", role)
}

func devicesRevoke(ctx context.Context, e *env, args []string) error {
	var d apitypes.Device
	data, err := e.c.postJSON(ctx, "/api/v1/devices/"+url.PathEscape(args[0])+"/revoke", "", nil, &d)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	fmt.Fprintf(e.out, "revoked device %s (%s): its agent is refused from now on; re-enroll it to let it back\n", d.ID, d.Hostname)
	return nil
}

func tokensList(ctx context.Context, e *env, _ []string) error {
	var tokens []apitypes.Token
	data, err := e.c.getJSON(ctx, "/api/v1/tokens", nil, &tokens)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	t := newTable(e.out, "ID", "ROLE", "OWNER", "DESCRIPTION", "CREATED", "EXPIRES", "LAST USED", "STATE")
	for _, tok := range tokens {
		state, expires, last := "active", "never", "never"
		if tok.Expires != nil {
			expires = when(*tok.Expires)
			if !tok.Expires.After(time.Now()) {
				state = "expired"
			}
		}
		if tok.LastUsed != nil {
			last = when(*tok.LastUsed)
		}
		if tok.Revoked != nil {
			state = "revoked " + when(*tok.Revoked)
		}
		t.row(tok.ID, tok.Role, dash(tok.Owner), dash(tok.Description), when(tok.Created), expires, last, state)
	}
	return t.flush()
}

// tokensCreate prints the value alone on stdout, so it can go straight
// into a token file; what it is goes to stderr.
func tokensCreate(ctx context.Context, e *env, _ []string) error {
	if err := checkRole(e.opts.role); err != nil {
		return err
	}
	if e.opts.ttl < time.Minute || e.opts.ttl > 366*24*time.Hour {
		return usageError("--ttl %s: a token works for 1m to 8784h (366 days)", e.opts.ttl)
	}
	body, err := json.Marshal(map[string]any{"description": e.opts.description, "role": e.opts.role,
		"ttl_seconds": int64(e.opts.ttl / time.Second)})
	if err != nil {
		return err
	}
	var tok apitypes.Token
	data, err := e.c.postJSON(ctx, "/api/v1/tokens", "", body, &tok)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	expires := "never"
	if tok.Expires != nil {
		expires = when(*tok.Expires)
	}
	fmt.Fprintf(e.log, "created API token %s (role %s, expires %s); its value follows and is not shown again:\n", tok.ID, tok.Role, expires)
	_, err = fmt.Fprintln(e.out, tok.Value)
	return err
}

func tokensRevoke(ctx context.Context, e *env, args []string) error {
	var tok apitypes.Token
	data, err := e.c.postJSON(ctx, "/api/v1/tokens/"+url.PathEscape(args[0])+"/revoke", "", nil, &tok)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	fmt.Fprintf(e.out, "revoked API token %s (role %s): it is refused from now on\n", tok.ID, tok.Role)
	return nil
}

func adminsList(ctx context.Context, e *env, _ []string) error {
	var admins []apitypes.Admin
	data, err := e.c.getJSON(ctx, "/api/v1/admins", nil, &admins)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	t := newTable(e.out, "USERNAME", "ROLE", "CREATED", "LAST LOGIN", "STATE")
	for _, a := range admins {
		state, last := "enabled", "never"
		if a.Pending {
			state = "invited (not set up)"
		}
		if a.Disabled != nil {
			state = "disabled " + when(*a.Disabled)
		}
		if a.LastLogin != nil {
			last = when(*a.LastLogin)
		}
		t.row(a.Username, a.Role, when(a.Created), last, state)
	}
	return t.flush()
}

// printInvite shows an account's one-time invite link.
func printInvite(e *env, a apitypes.Admin, what string) error {
	fmt.Fprintf(e.log, "%s; send the invite link below to its owner: it works once and is shown only now\n", what)
	kv := newTable(e.out)
	kv.row("username:", a.Username)
	kv.row("role:", a.Role)
	kv.row("invite_url:", a.InviteURL)
	if a.InviteExpires != nil {
		kv.row("expires:", when(*a.InviteExpires))
	}
	return kv.flush()
}

func adminsCreate(ctx context.Context, e *env, args []string) error {
	if err := checkRole(e.opts.role); err != nil {
		return err
	}
	body, err := json.Marshal(map[string]string{"username": args[0], "role": e.opts.role})
	if err != nil {
		return err
	}
	var a apitypes.Admin
	data, err := e.c.postJSON(ctx, "/api/v1/admins", "", body, &a)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	return printInvite(e, a, fmt.Sprintf("invited administrator %s (role %s); the account cannot log in until the link is used", a.Username, a.Role))
}

// adminsSet enables or disables an account.
func adminsSet(verb string) func(ctx context.Context, e *env, args []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		var a apitypes.Admin
		data, err := e.c.postJSON(ctx, "/api/v1/admins/"+url.PathEscape(args[0])+"/"+verb, "", nil, &a)
		if err != nil || e.json() {
			return cmpErr(err, e.raw, data)
		}
		fmt.Fprintf(e.out, "%sd administrator %s\n", verb, a.Username)
		return nil
	}
}

// adminsReset sets an account up again by a new invite link: its password
// and authenticator stop working and its sessions end.
func adminsReset(ctx context.Context, e *env, args []string) error {
	var a apitypes.Admin
	data, err := e.c.postJSON(ctx, "/api/v1/admins/"+url.PathEscape(args[0])+"/invite", "", nil, &a)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	return printInvite(e, a, fmt.Sprintf("reset %s: its password and authenticator no longer work and its sessions ended", a.Username))
}

func auditList(ctx context.Context, e *env, _ []string) error {
	q := url.Values{}
	if e.opts.actor != "" {
		q.Set("actor", e.opts.actor)
	}
	if e.opts.action != "" {
		q.Set("action", e.opts.action)
	}
	if e.opts.before != 0 {
		q.Set("before", strconv.FormatInt(e.opts.before, 10))
	}
	if e.opts.limit < 0 {
		return usageError("--limit %d: want a number of entries, or 0 for all", e.opts.limit)
	}
	items, err := e.c.listAll(ctx, "/api/v1/audit", q, "entries", e.opts.limit)
	if err != nil {
		return err
	}
	if e.json() {
		return e.rawList(items)
	}
	entries, err := decodeItems[apitypes.AuditEntry](items)
	if err != nil {
		return fmt.Errorf("GET /api/v1/audit: %w", err)
	}
	if e.opts.long {
		for i, a := range entries {
			if i > 0 {
				fmt.Fprintln(e.out)
			}
			fmt.Fprintf(e.out, "entry %d\n  time:    %s\n  actor:   %s\n  from:    %s\n  action:  %s\n  target:  %s\n",
				a.ID, when(a.At), a.Actor, dash(a.RemoteAddr), a.Action, dash(a.Target))
			for _, kv := range detailPairs(a.Detail, 0) {
				fmt.Fprintf(e.out, "  %s\n", kv)
			}
		}
		return nil
	}
	t := newTable(e.out, "ID", "TIME", "ACTOR", "FROM", "ACTION", "TARGET", "DETAIL")
	for _, a := range entries {
		t.row(strconv.FormatInt(a.ID, 10), when(a.At), a.Actor, dash(a.RemoteAddr), a.Action, dash(a.Target), dash(strings.Join(detailPairs(a.Detail, 40), " ")))
	}
	return t.flush()
}

// detailPairs renders an audit entry's detail (a JSON object) as sorted
// key=value pairs, one per element: texts as they are, other values as
// JSON. A value longer than cut runes (0: no limit) is shortened with a
// note of what was left out, so a table row stays readable and says where
// the full value is (--long or --json).
func detailPairs(detail json.RawMessage, cut int) []string {
	var m map[string]json.RawMessage
	if len(detail) == 0 || json.Unmarshal(detail, &m) != nil {
		if s := strings.TrimSpace(string(detail)); s != "" && s != "null" && s != "{}" {
			return []string{s}
		}
		return nil
	}
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := string(m[k])
		var text string
		if json.Unmarshal(m[k], &text) == nil {
			v = text
		}
		if v == "" || v == "null" {
			continue
		}
		if r := []rune(v); cut > 0 && len(r) > cut {
			v = fmt.Sprintf("%s…(+%d)", string(r[:cut]), len(r)-cut)
		}
		if strings.ContainsAny(v, " \t\n") {
			v = strconv.Quote(v)
		}
		out = append(out, k+"="+v)
	}
	return out
}
