package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/vcguard/vcguard/policies/groupname"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// command is one vcguardctl command.
type command struct {
	// name is how the command is written in full, e.g. "devices list".
	name string
	// aliases are other spellings, e.g. "devices" for "devices list".
	aliases []string
	// args names the positional arguments, all required.
	args []string
	// flags registers the command's own flags into o.
	flags func(fs *flag.FlagSet, o *options)
	run   func(ctx context.Context, e *env, args []string) error
}

// options are the flags of every command; each registers its own.
type options struct {
	device, eventType string
	limit             int
	against           string
	description       string
	group             string
	ttl               time.Duration
	maxUses           int64
	role              string
	actor, action     string
	long              bool
	// filters are the device list's filters, by name (deviceFilters).
	filters map[string]*string
	before  int64
	comment string
}

// env is what a command runs with.
type env struct {
	c        *client
	cfg      *config
	opts     *options
	out, log io.Writer
}

// json reports whether the raw JSON of the API is wanted.
func (e *env) json() bool { return e.cfg.Output == outputJSON }

// raw writes an API answer as it came.
func (e *env) raw(data []byte) error {
	_, err := e.out.Write(data)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		fmt.Fprintln(e.out)
	}
	return err
}

func noFlags(*flag.FlagSet, *options) {}

// commands lists every command; lookupCommand matches the longest name.
var commands = []command{
	{name: "devices list", aliases: []string{"devices"}, flags: func(fs *flag.FlagSet, o *options) {
		fs.IntVar(&o.limit, "limit", 0, "at most this many devices (default: all, fetched 1,000 a page)")
		for _, f := range deviceFilters {
			fs.StringVar(o.deviceFilter(f.name), f.name, "", f.usage)
		}
	}, run: devicesList},
	{name: "devices show", args: []string{"ID"}, flags: noFlags, run: devicesShow},
	{name: "events", flags: func(fs *flag.FlagSet, o *options) {
		fs.StringVar(&o.device, "device", "", "only events of this device id")
		fs.StringVar(&o.eventType, "type", "", "only events of this type (app_started, app_stopped, camera_on, …)")
		fs.IntVar(&o.limit, "limit", 100, "at most this many events, newest first, fetched 1,000 a page; 0 for all")
	}, run: eventsList},
	{name: "policies list", aliases: []string{"policies"}, flags: noFlags, run: policiesList},
	{name: "policies show", args: []string{"VERSION|current"}, flags: noFlags, run: policiesShow},
	{name: "policies current", flags: noFlags, run: func(ctx context.Context, e *env, _ []string) error {
		return policiesShow(ctx, e, []string{"current"})
	}},
	{name: "policy apply", args: []string{"FILE"}, flags: commentFlag("what changes and why (required), e.g. 'allow Jitsi for radiology'"), run: policyApply},
	{name: "policy validate", args: []string{"FILE"}, flags: noFlags, run: policyValidate},
	{name: "policy diff", args: []string{"VERSION|current"}, flags: func(fs *flag.FlagSet, o *options) {
		fs.StringVar(&o.against, "against", "", "compare with this version (default: the version before)")
	}, run: policyDiff},
	{name: "policy rollback", args: []string{"VERSION"}, flags: commentFlag("why go back (required), e.g. 'the new rule blocked the help desk'"), run: policyRollback},
	{name: "catalog list", aliases: []string{"catalog"}, flags: noFlags, run: catalogsList},
	{name: "catalog publish", args: []string{"DIR|BUNDLE"}, flags: noFlags, run: catalogPublish},
	{name: "secrets list", aliases: []string{"secrets"}, flags: noFlags, run: secretsList},
	{name: "secrets create", flags: func(fs *flag.FlagSet, o *options) {
		fs.StringVar(&o.description, "description", "", "what the secret is for (required), e.g. 'Berlin office laptops'")
		fs.DurationVar(&o.ttl, "ttl", 0, "the secret expires after this long, e.g. 720h, at most 8784h (default: 168h, 7 days)")
		fs.StringVar(&o.group, "group", "", "device group the devices enrolled with it join")
		fs.Int64Var(&o.maxUses, "max-uses", 0, "how many devices may enroll with it (default: no limit)")
	}, run: secretsCreate},
	{name: "secrets revoke", args: []string{"ID"}, flags: noFlags, run: secretsRevoke},
	{name: "devices revoke", args: []string{"ID"}, flags: noFlags, run: devicesRevoke},
	{name: "tokens list", aliases: []string{"tokens"}, flags: noFlags, run: tokensList},
	{name: "tokens create", flags: func(fs *flag.FlagSet, o *options) {
		fs.StringVar(&o.role, "role", defaultRole, "auditor (audit log only), analyst (reads the fleet) or admin; at most your token's role")
		fs.StringVar(&o.description, "description", "", "what the token is for, e.g. 'SIEM export'")
		fs.DurationVar(&o.ttl, "ttl", 90*24*time.Hour, "the token expires after this long, at most 8784h (366 days)")
	}, run: tokensCreate},
	{name: "tokens revoke", args: []string{"ID"}, flags: noFlags, run: tokensRevoke},
	{name: "admins list", aliases: []string{"admins"}, flags: noFlags, run: adminsList},
	{name: "admins create", args: []string{"USERNAME"}, flags: func(fs *flag.FlagSet, o *options) {
		fs.StringVar(&o.role, "role", defaultRole, "auditor (audit log only), analyst (reads the fleet) or admin")
	}, run: adminsCreate},
	{name: "admins disable", args: []string{"USERNAME"}, flags: noFlags, run: adminsSet("disable")},
	{name: "admins enable", args: []string{"USERNAME"}, flags: noFlags, run: adminsSet("enable")},
	{name: "admins reset", aliases: []string{"admins reset-password"}, args: []string{"USERNAME"}, flags: noFlags, run: adminsReset},
	{name: "audit", flags: func(fs *flag.FlagSet, o *options) {
		fs.StringVar(&o.actor, "actor", "", "only changes by this actor (a username, or token:ID)")
		fs.StringVar(&o.action, "action", "", "only this action, e.g. policy_publish, device_revoke")
		fs.BoolVar(&o.long, "long", false, "one block per entry with every detail in full, instead of a table")
		fs.Int64Var(&o.before, "before", 0, "only entries older than this entry id (to page back)")
		fs.IntVar(&o.limit, "limit", 100, "at most this many entries, newest first, fetched 1,000 a page; 0 for all")
	}, run: auditList},
}

// lookupCommand finds the command the words of a command line name (the
// longest match) and how many words name it.
func lookupCommand(words []string) (found command, n int, ok bool) {
	for _, c := range commands {
		for _, name := range append([]string{c.name}, c.aliases...) {
			parts := strings.Fields(name)
			if len(parts) > n && len(words) >= len(parts) && slices.Equal(words[:len(parts)], parts) {
				found, n, ok = c, len(parts), true
			}
		}
	}
	// "devices frobnicate" is a mistake, not "devices" with an argument.
	if ok && len(found.args) == 0 && len(words) > n && !strings.HasPrefix(words[n], "-") {
		return command{}, 0, false
	}
	return found, n, ok
}

// deviceFilters are the device list's filters, passed to the API as they
// are (it checks them and names a bad one).
var deviceFilters = []struct{ name, usage string }{
	{"q", "hostname or id contains"},
	{"os", "operating system: linux, darwin or windows"},
	{"group", "device group"},
	{"app", "running this catalog app, e.g. zoom"},
	{"verdict", "running an app judged this: approved, restricted, unlisted, outdated, unverified or forbidden"},
	{"status", "online, offline or stale"},
	{"seen", "last heard from: within-N or over-N, N in hours (24h) or days (7d)"},
	{"sort", "order: hostname, os, group, last_seen, verdict or policy; a leading - for descending"},
}

// deviceFilter returns where the value of the device list filter name goes.
func (o *options) deviceFilter(name string) *string {
	if o.filters == nil {
		o.filters = map[string]*string{}
	}
	if o.filters[name] == nil {
		o.filters[name] = new(string)
	}
	return o.filters[name]
}

func devicesList(ctx context.Context, e *env, _ []string) error {
	if e.opts.limit < 0 {
		return usageError("--limit %d: want a number of devices, or 0 for all", e.opts.limit)
	}
	q := url.Values{}
	for name, v := range e.opts.filters {
		if *v != "" {
			q.Set(name, *v)
		}
	}
	items, err := e.c.listAll(ctx, "/api/v1/devices", q, "devices", e.opts.limit)
	if err != nil {
		return err
	}
	if e.json() {
		return e.rawList(items)
	}
	devs, err := decodeItems[apitypes.DeviceSummary](items)
	if err != nil {
		return fmt.Errorf("GET /api/v1/devices: %w", err)
	}
	t := newTable(e.out, "ID", "HOSTNAME", "OS", "GROUP", "AGENT", "STATUS", "LAST SEEN", "POLICY", "APPS")
	for _, d := range devs {
		t.row(d.ID, d.Hostname, d.OS, dash(d.Group), d.AgentVersion, deviceStatus(d.Revoked, d.Online), when(d.LastSeen),
			strconv.FormatUint(d.PolicyVersion, 10), runningSummary(d))
	}
	return t.flush()
}

// runningSummary counts running apps and names the worst verdict when it
// is not approved.
func runningSummary(d apitypes.DeviceSummary) string {
	if d.WorstVerdict == "" || d.WorstVerdict == "approved" {
		return strconv.Itoa(d.RunningApps)
	}
	return fmt.Sprintf("%d (worst: %s)", d.RunningApps, d.WorstVerdict)
}

func deviceStatus(revoked *time.Time, online bool) string {
	switch {
	case revoked != nil:
		return "revoked"
	case online:
		return "online"
	}
	return "offline"
}

func devicesShow(ctx context.Context, e *env, args []string) error {
	var d apitypes.Device
	data, err := e.c.getJSON(ctx, "/api/v1/devices/"+url.PathEscape(args[0]), nil, &d)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	kv := newTable(e.out)
	kv.row("ID:", d.ID)
	kv.row("Hostname:", d.Hostname)
	kv.row("OS:", strings.TrimSpace(d.OS+" "+d.OSVersion+" "+d.Arch))
	kv.row("Agent:", d.AgentVersion)
	kv.row("Group:", dash(d.Group))
	kv.row("Status:", deviceStatus(d.Revoked, d.Online))
	kv.row("Enrolled:", when(d.Enrolled))
	kv.row("Last seen:", when(d.LastSeen))
	kv.row("Policy version:", strconv.FormatUint(d.PolicyVersion, 10))
	kv.row("Events stored:", strconv.FormatInt(d.EventsStored, 10))
	if err := kv.flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.out)
	if len(d.Apps) == 0 {
		fmt.Fprintln(e.out, "No apps reported.")
	} else {
		t := newTable(e.out, "APP", "NAME", "PID", "VERSION", "VERDICT", "VERIFIED", "RUNNING")
		for _, a := range d.Apps {
			t.row(a.AppID, a.Name, strconv.Itoa(int(a.PID)), a.Version, a.Verdict, yesNo(a.Verified), yesNo(a.Running))
		}
		if err := t.flush(); err != nil {
			return err
		}
		if d.AppsTruncated {
			fmt.Fprintf(e.out, "(%d of %d app instances shown, running first)\n", len(d.Apps), d.AppsTotal)
		}
	}
	if len(d.Media) > 0 {
		fmt.Fprintln(e.out)
		t := newTable(e.out, "IN USE", "PROCESS", "PID", "APP", "DEVICE", "SINCE")
		for _, m := range d.Media {
			t.row(m.Kind, m.Process, strconv.Itoa(int(m.PID)), dash(m.AppID), m.Device, when(m.Since))
		}
		if err := t.flush(); err != nil {
			return err
		}
		if d.MediaTruncated {
			fmt.Fprintf(e.out, "(%d of %d cameras and microphones in use shown)\n", len(d.Media), d.MediaTotal)
		}
	}
	return nil
}

func eventsList(ctx context.Context, e *env, _ []string) error {
	q := url.Values{}
	if e.opts.device != "" {
		q.Set("device", e.opts.device)
	}
	if e.opts.eventType != "" {
		q.Set("type", e.opts.eventType)
	}
	if e.opts.limit < 0 {
		return usageError("--limit %d: want a number of events, or 0 for all", e.opts.limit)
	}
	items, err := e.c.listAll(ctx, "/api/v1/events", q, "events", e.opts.limit)
	if err != nil {
		return err
	}
	if e.json() {
		return e.rawList(items)
	}
	events, err := decodeItems[apitypes.Event](items)
	if err != nil {
		return fmt.Errorf("GET /api/v1/events: %w", err)
	}
	t := newTable(e.out, "TIME", "DEVICE", "SEQ", "TYPE", "APP", "PROCESS", "PID")
	for _, ev := range events {
		pid := "-"
		if ev.PID != 0 {
			pid = strconv.Itoa(int(ev.PID))
		}
		t.row(when(ev.Time), ev.DeviceID, strconv.FormatUint(ev.Seq, 10), ev.Type, dash(ev.AppID), dash(ev.Process), pid)
	}
	return t.flush()
}

func secretsList(ctx context.Context, e *env, _ []string) error {
	var secrets []apitypes.Secret
	data, err := e.c.getJSON(ctx, "/api/v1/enrollment-secrets", nil, &secrets)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	now := time.Now()
	t := newTable(e.out, "ID", "DESCRIPTION", "GROUP", "CREATED", "EXPIRES", "ENROLLED", "STATE")
	for _, s := range secrets {
		state := "active"
		switch {
		case s.Revoked != nil:
			state = "revoked " + when(*s.Revoked)
		case s.Expires != nil && !s.Expires.After(now):
			state = "expired"
		case s.MaxUses > 0 && s.Uses >= s.MaxUses:
			state = "used up"
		}
		enrolled := fmt.Sprint(s.Uses)
		if s.MaxUses > 0 {
			enrolled += fmt.Sprintf(" of %d", s.MaxUses)
		}
		expires := "never"
		if s.Expires != nil {
			expires = when(*s.Expires)
		}
		t.row(s.ID, s.Description, dash(s.Group), when(s.Created), expires, enrolled, state)
	}
	return t.flush()
}

// secretsCreate prints the new secret's value alone on stdout (so it can be
// redirected into the agents' --enroll-secret-file) and what it is on stderr.
func secretsCreate(ctx context.Context, e *env, _ []string) error {
	if strings.TrimSpace(e.opts.description) == "" {
		return usageError("secrets create needs --description, e.g. --description 'Berlin office laptops'")
	}
	if e.opts.ttl < 0 || e.opts.ttl > apitypes.MaxSecretTTL {
		return usageError("--ttl %s: want 1h to %s, or leave it out for 7 days", e.opts.ttl, apitypes.MaxSecretTTL)
	}
	if e.opts.maxUses < 0 || e.opts.maxUses > apitypes.MaxSecretUses {
		return usageError("--max-uses %d: want 1 to %d, or leave it out for no limit", e.opts.maxUses, apitypes.MaxSecretUses)
	}
	if e.opts.group != "" && !groupname.Valid(e.opts.group) {
		return usageError("--group %q: a policy can only target a group named with %s, e.g. --group radiology", e.opts.group, groupname.Rule)
	}
	req := map[string]any{"description": e.opts.description, "ttl_seconds": int64(e.opts.ttl / time.Second), "max_uses": e.opts.maxUses}
	if e.opts.group != "" {
		req["group"] = e.opts.group
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var s apitypes.Secret
	data, err := e.c.postJSON(ctx, "/api/v1/enrollment-secrets", "", body, &s)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	expires := "never expires"
	if s.Expires != nil {
		expires = "expires " + when(*s.Expires)
	}
	if s.MaxUses > 0 {
		expires += fmt.Sprintf(", for %d devices", s.MaxUses)
	}
	fmt.Fprintf(e.log, "created enrollment secret %s (%s, %s); its value follows and is not shown again:\n", s.ID, s.Description, expires)
	_, err = fmt.Fprintln(e.out, s.Value)
	return err
}

func secretsRevoke(ctx context.Context, e *env, args []string) error {
	var s apitypes.Secret
	data, err := e.c.postJSON(ctx, "/api/v1/enrollment-secrets/"+url.PathEscape(args[0])+"/revoke", "", nil, &s)
	if err != nil || e.json() {
		return cmpErr(err, e.raw, data)
	}
	fmt.Fprintf(e.out, "revoked enrollment secret %s (%s); devices enrolled with it stay enrolled\n", s.ID, s.Description)
	return nil
}

// cmpErr returns err, or else writes data with write (the --output json
// path of a command).
func cmpErr(err error, write func([]byte) error, data []byte) error {
	if err != nil {
		return err
	}
	return write(data)
}

// when formats a time for a table, in local time; "-" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
