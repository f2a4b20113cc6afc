package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fixture is a real admin API over HTTPS (SQLite store, tokens of every
// role, policy version 1 published) with one enrolled device that runs Zoom
// and uses the camera.
type fixture struct {
	env    *adminapitest.Env
	url    string
	caFile string
	// tokenFiles holds a token file per role, and "bad" a token the
	// server does not know.
	tokenFiles map[string]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := adminapitest.New(t)
	mux := http.NewServeMux()
	env.API.Register(mux)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-server case fails handshakes on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	f := &fixture{env: env, url: srv.URL, caFile: filepath.Join(dir, "ca.pem"), tokenFiles: map[string]string{}}
	writeFile(t, f.caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	for role, token := range env.Tokens {
		f.tokenFiles[string(role)] = writeFile(t, filepath.Join(dir, string(role)+"-token"), token+"\n")
	}
	f.tokenFiles["bad"] = writeFile(t, filepath.Join(dir, "bad-token"), "vcg_admin_not-a-real-token\n")

	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := env.Store.CreateDevice(ctx, store.Device{ID: "dev-1", Hostname: "laptop-1", OS: "linux", AgentVersion: "1.2.3", Enrolled: now}); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.DeviceConnected(ctx, "dev-1", &vcguardv1.DeviceInfo{Hostname: "laptop-1", Os: "linux", AgentVersion: "1.2.3"}, now); err != nil {
		t.Fatal(err)
	}
	zoom := &vcguardv1.AppInstance{AppId: "zoom", Name: "Zoom Workplace", Pid: 42, Started: timestamppb.New(now),
		Exe: "/opt/zoom/zoom", Version: "6.1.0", Verdict: vcguardv1.Verdict_VERDICT_FORBIDDEN}
	if _, err := env.Store.IngestEvents(ctx, "dev-1", []*vcguardv1.Event{
		{Seq: 1, Time: timestamppb.New(now), Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_STARTED, App: zoom}}},
		{Seq: 2, Time: timestamppb.New(now), Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: 1}}},
		{Seq: 3, Time: timestamppb.New(now), Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{On: true, Use: &vcguardv1.MediaUse{
			Kind: "camera", Device: "/dev/video0", Pid: 42, Process: "/opt/zoom/zoom", AppId: "zoom", Source: "test", Since: timestamppb.New(now)}}}},
	}, now); err != nil {
		t.Fatal(err)
	}
	return f
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ctl runs vcguardctl against the fixture with the token of role.
func (f *fixture) ctl(t *testing.T, role string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	full := append([]string{"--server", f.url, "--cacert", f.caFile, "--token-file", f.tokenFiles[role]}, args...)
	var out, errOut bytes.Buffer
	err = run(t.Context(), full, &out, &errOut)
	return out.String(), errOut.String(), err
}

// ctlCase is one command line and what it must print or fail with.
type ctlCase struct {
	name string
	role string // default admin
	args []string
	// want are substrings of stdout; wantErr substrings of the error
	// (then the command must fail).
	want, wantErr []string
	// wantStderr are substrings of stderr.
	wantStderr []string
	// wantNot are substrings stdout must not have.
	wantNot []string
	// lines, when above 0, is the number of lines stdout must have.
	lines int
}

func (f *fixture) check(t *testing.T, c ctlCase) {
	t.Helper()
	role := c.role
	if role == "" {
		role = string(store.RoleAdmin)
	}
	out, errOut, err := f.ctl(t, role, c.args...)
	if len(c.wantErr) > 0 {
		if err == nil {
			t.Fatalf("vcguardctl %s succeeded, want an error; stdout:\n%s", strings.Join(c.args, " "), out)
		}
		for _, w := range c.wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
	} else if err != nil {
		t.Fatalf("vcguardctl %s: %v\nstderr: %s", strings.Join(c.args, " "), err, errOut)
	}
	for _, w := range c.want {
		if !strings.Contains(out, w) {
			t.Errorf("stdout does not contain %q:\n%s", w, out)
		}
	}
	for _, w := range c.wantNot {
		if strings.Contains(out, w) {
			t.Errorf("stdout contains %q:\n%s", w, out)
		}
	}
	for _, w := range c.wantStderr {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr does not contain %q:\n%s", w, errOut)
		}
	}
	if c.lines > 0 {
		if n := strings.Count(out, "\n"); n != c.lines {
			t.Errorf("stdout has %d lines, want %d:\n%s", n, c.lines, out)
		}
	}
	// The token is never printed, whatever happened.
	for _, token := range f.env.Tokens {
		if strings.Contains(out, token) || strings.Contains(errOut, token) || (err != nil && strings.Contains(err.Error(), token)) {
			t.Errorf("the API token was printed")
		}
	}
}

// TestReadCommands: devices, events and policies as tables and as JSON,
// for an analyst (read-only) token.
func TestReadCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, c := range []ctlCase{
		{name: "devices", args: []string{"devices"}, role: "analyst", lines: 2,
			want: []string{"ID  ", "HOSTNAME", "LAST SEEN", "dev-1", "laptop-1", "1.2.3", "online", "1 (worst: forbidden)"}},
		{name: "devices list", args: []string{"devices", "list"}, role: "analyst", want: []string{"dev-1"}},
		{name: "devices filtered by app and sorted", args: []string{"devices", "--app", "zoom", "--sort", "-last_seen", "--seen", "within-24h"}, role: "analyst", lines: 2,
			want: []string{"dev-1"}},
		{name: "devices filtered by another app", args: []string{"devices", "--app", "slack"}, role: "analyst", lines: 1},
		{name: "devices, a bad filter named", args: []string{"devices", "--seen", "yesterday"}, role: "analyst", wantErr: []string{"400", "seen"}},
		{name: "devices show", args: []string{"devices", "show", "dev-1"}, role: "analyst",
			want: []string{"Hostname:", "laptop-1", "Policy version:", "zoom", "Zoom Workplace", "6.1.0", "forbidden", "IN USE", "camera", "/dev/video0"}},
		{name: "devices show unknown", args: []string{"devices", "show", "dev-nope"}, role: "analyst",
			wantErr: []string{"404", "check the id"}},
		{name: "devices show, flag after the argument", args: []string{"devices", "show", "dev-1", "--output", "json"}, role: "analyst",
			want: []string{`"hostname": "laptop-1"`}},
		{name: "events", args: []string{"events"}, role: "analyst", lines: 4,
			want: []string{"TIME", "TYPE", "app_started", "policy_applied", "camera_on", "zoom"}},
		{name: "events filtered", args: []string{"events", "--device", "dev-1", "--type", "camera_on", "--limit", "5"}, role: "analyst", lines: 2,
			want: []string{"camera_on"}},
		{name: "events bad limit", args: []string{"events", "--limit", "-1"}, role: "analyst",
			wantErr: []string{"--limit -1"}},
		{name: "policies", args: []string{"policies"}, role: "analyst", lines: 2,
			want: []string{"VERSION", "NAME", "1 ", "test", "current"}},
		{name: "policies show", args: []string{"policies", "show", "1"}, role: "analyst",
			want: []string{"name:", "apps:"}, wantStderr: []string{"policy version 1"}},
		{name: "policies current", args: []string{"policies", "current"}, role: "analyst", want: []string{"apps:"}},
		{name: "policies show unknown", args: []string{"policies", "show", "9"}, role: "analyst", wantErr: []string{"404"}},
		{name: "policies show bad version", args: []string{"policies", "show", "two"}, role: "analyst",
			wantErr: []string{`policy version "two"`}},
	} {
		t.Run(c.name, func(t *testing.T) { f.check(t, c) })
	}

	t.Run("json output is the API's", func(t *testing.T) {
		out, _, err := f.ctl(t, "analyst", "--output", "json", "devices")
		if err != nil {
			t.Fatal(err)
		}
		var devs []apitypes.DeviceSummary
		if err := json.Unmarshal([]byte(out), &devs); err != nil || len(devs) != 1 || devs[0].ID != "dev-1" {
			t.Errorf("devices --output json: %v, %s", err, out)
		}
	})
}

// TestPolicyCommands: validate, apply, diff and roll back, with the
// server's refusals (400 naming file, line and field; 403 for an analyst).
func TestPolicyCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "zoom-forbidden.yaml"), "name: Zoom forbidden\napps:\n  zoom: {status: forbidden}\n  jitsi-meet: {status: approved}\n")
	bad := writeFile(t, filepath.Join(dir, "typo.yaml"), "name: Typo\napps:\n  zoom: {status: forbiddn}\n")
	empty := writeFile(t, filepath.Join(dir, "empty.yaml"), "\n")
	for _, c := range []ctlCase{
		{name: "validate good", args: []string{"policy", "validate", good}, want: []string{good + `: valid (policy "Zoom forbidden")`}},
		{name: "validate bad", args: []string{"policy", "validate", bad},
			wantErr: []string{bad + ":3: field apps.zoom.status", `"forbiddn" is not one of`}},
		{name: "apply bad: 400 names file, line and field", args: []string{"policy", "apply", bad, "--comment", "typo"},
			wantErr: []string{bad + ":3: field apps.zoom.status", "was not published"}},
		{name: "apply empty file", args: []string{"policy", "apply", empty, "--comment", "x"}, wantErr: []string{"empty.yaml is empty"}},
		{name: "apply missing file", args: []string{"policy", "apply", filepath.Join(dir, "nope.yaml"), "--comment", "x"}, wantErr: []string{"read policy", "nope.yaml"}},
		{name: "apply as analyst: 403", role: "analyst", args: []string{"policy", "apply", good, "--comment", "x"}, wantErr: []string{"403", "admin token"}},
		{name: "apply without a comment", args: []string{"policy", "apply", good}, wantErr: []string{"policy apply needs --comment"}},
		{name: "apply", args: []string{"policy", "apply", good, "--comment", "forbid Zoom until the DPA is signed"}, want: []string{"published policy version 2 (Zoom forbidden)"}},
		{name: "apply again: 409 names the identical version", args: []string{"policy", "apply", good, "--comment", "again"},
			wantErr: []string{good + ": not published: the document is identical to version 2, the version in force"}},
		{name: "policies after apply", args: []string{"policies"}, lines: 3,
			want: []string{"APPLIED", "COMMENT", "Zoom forbidden", "0/1", "forbid Zoom until the DPA is signed", "1/1", "test setup"}},
		{name: "show: comment and rollout", args: []string{"policies", "show", "1"},
			wantStderr: []string{"comment: test setup", "rollout: 1 of 1 enrolled devices applied this version or a newer one; 1 enforce this version now"}},
		{name: "show json: applied and total", args: []string{"policies", "show", "2", "--output", "json"},
			want: []string{`"applied": 0`, `"total": 1`, `"comment": "forbid Zoom until the DPA is signed"`}},
		{name: "rollback to the version in force: 409", args: []string{"policy", "rollback", "2", "--comment", "x"},
			wantErr: []string{"not rolled back", "identical to version 2, the version in force"}},
		{name: "rollback without a comment", args: []string{"policy", "rollback", "1"}, wantErr: []string{"policy rollback needs --comment"}},
		{name: "diff", args: []string{"policy", "diff", "2"}, want: []string{"--- version 1", "+++ version 2 (Zoom forbidden)", "+  zoom: {status: forbidden}"}},
		{name: "diff against", args: []string{"policy", "diff", "current", "--against", "2"}, want: []string{"no difference between version 2 and version 2"}},
		{name: "diff json", args: []string{"policy", "diff", "2", "--output", "json"}, want: []string{`"from": 1`, `"to": 2`}},
		{name: "diff unknown", args: []string{"policy", "diff", "7"}, wantErr: []string{"404"}},
		{name: "rollback", args: []string{"policy", "rollback", "1", "--comment", "Zoom is back"}, want: []string{"published policy version 3", "document of version 1"}},
		{name: "rollback current is refused locally", args: []string{"policy", "rollback", "current", "--comment", "x"}, wantErr: []string{"want a number"}},
		{name: "current after rollback", args: []string{"policies", "current"}, wantStderr: []string{"policy version 3", "rollback to version 1", "comment: Zoom is back"}},
	} {
		t.Run(c.name, func(t *testing.T) { f.check(t, c) })
	}
}

// TestSecretsCommands: create (value on stdout alone), list, revoke.
func TestSecretsCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	out, errOut, err := f.ctl(t, "admin", "secrets", "create", "--description", "Berlin laptops", "--ttl", "720h")
	if err != nil {
		t.Fatal(err)
	}
	value := strings.TrimSpace(out)
	if !strings.HasPrefix(value, "vcg_enroll_") || strings.Contains(value, "\n") {
		t.Errorf("secrets create stdout = %q, want the value alone", out)
	}
	if !strings.Contains(errOut, "Berlin laptops") || !strings.Contains(errOut, "not shown again") {
		t.Errorf("secrets create stderr = %q", errOut)
	}
	secrets, err := f.env.Store.EnrollmentSecrets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, s := range secrets {
		if s.Description == "Berlin laptops" {
			id = s.ID
			if d := s.Expires.Sub(s.Created); d != 720*time.Hour {
				t.Errorf("secret expires after %s, want 720h", d)
			}
		}
	}
	if id == "" {
		t.Fatal("the secret was not created")
	}
	for _, c := range []ctlCase{
		// The group rule of policies, checked before asking the server:
		// nothing is created (the list below still has one secret).
		{name: "create with a group no policy can target", args: []string{"secrets", "create", "--description", "Radiology", "--group", "Radiology"},
			wantErr: []string{`--group "Radiology"`, "lower case letters", "--group radiology"}},
		{name: "create with a dotted group", args: []string{"secrets", "create", "--description", "x", "--group", "a.b"},
			wantErr: []string{`--group "a.b"`}},
		{name: "list", args: []string{"secrets"}, lines: 2, want: []string{"DESCRIPTION", id, "Berlin laptops", "active"}},
		{name: "list as analyst: 403", role: "analyst", args: []string{"secrets", "list"}, wantErr: []string{"403"}},
		{name: "create without description", args: []string{"secrets", "create"}, wantErr: []string{"needs --description"}},
		{name: "create with a group", args: []string{"secrets", "create", "--description", "Paris", "--group", "paris-office"},
			want: []string{"vcg_enroll_"}, lines: 1},
		{name: "list shows the group", args: []string{"secrets"}, want: []string{"paris-office"}},
		{name: "revoke", args: []string{"secrets", "revoke", id}, want: []string{"revoked enrollment secret " + id}},
		{name: "list after revoke", args: []string{"secrets"}, want: []string{"revoked "}},
		{name: "revoke unknown", args: []string{"secrets", "revoke", "es_nope"}, wantErr: []string{"404"}},
	} {
		t.Run(c.name, func(t *testing.T) { f.check(t, c) })
	}
}

// TestAccessErrors: a bad token (401), no token, an untrusted server, no
// server and wrong command lines each say what is wrong and what to do.
func TestAccessErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, c := range []ctlCase{
		{name: "bad token: 401", role: "bad", args: []string{"devices"}, wantErr: []string{"401", "token was refused", "--token-file"}},
		{name: "bad token on a write: 401", role: "bad", args: []string{"secrets", "revoke", "es_x"}, wantErr: []string{"401"}},
		{name: "auditor may not list devices: 403", role: "auditor", args: []string{"devices"}, wantErr: []string{"403"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantErr: []string{`unknown command "frobnicate"`}},
		{name: "unknown subcommand", args: []string{"devices", "frobnicate"}, wantErr: []string{`unknown command "devices frobnicate"`}},
		{name: "missing argument", args: []string{"devices", "show"}, wantErr: []string{"needs ID"}},
		{name: "bad output", args: []string{"devices", "--output", "yaml"}, wantErr: []string{"--output", "table or json"}},
	} {
		t.Run(c.name, func(t *testing.T) { f.check(t, c) })
	}

	runWith := func(t *testing.T, args ...string) error {
		t.Helper()
		var out, errOut bytes.Buffer
		return run(t.Context(), args, &out, &errOut)
	}
	t.Run("usage errors are marked", func(t *testing.T) {
		if err := runWith(t, "--server", f.url, "devices", "show"); !errors.Is(err, errUsage) {
			t.Errorf("missing argument: %v, want a usage error", err)
		}
	})
	t.Run("no token", func(t *testing.T) {
		err := runWith(t, "--server", f.url, "--cacert", f.caFile, "devices")
		if err == nil || !strings.Contains(err.Error(), "--token-file") {
			t.Errorf("no token: %v", err)
		}
	})
	t.Run("untrusted server", func(t *testing.T) {
		err := runWith(t, "--server", f.url, "--token-file", f.tokenFiles["admin"], "devices")
		if err == nil || !strings.Contains(err.Error(), "--cacert") {
			t.Errorf("no --cacert: %v", err)
		}
	})
	t.Run("plain http refused", func(t *testing.T) {
		err := runWith(t, "--server", "http://127.0.0.1:1", "--token-file", f.tokenFiles["admin"], "devices")
		if err == nil || !strings.Contains(err.Error(), "https://") {
			t.Errorf("http server: %v", err)
		}
	})
	t.Run("nothing listens", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		lis.Close()
		err = runWith(t, "--server", "https://"+addr, "--cacert", f.caFile, "--token-file", f.tokenFiles["admin"], "devices")
		if err == nil || !strings.Contains(err.Error(), "nothing listens") {
			t.Errorf("closed port: %v", err)
		}
	})
}

// TestTokenFromEnvironment: without --token-file the token comes from
// $VCGUARD_TOKEN and the server from $VCGUARD_SERVER.
func TestTokenFromEnvironment(t *testing.T) {
	f := newFixture(t)
	t.Setenv(tokenEnv, f.env.Tokens[store.RoleAnalyst])
	t.Setenv(serverEnv, f.url)
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"--cacert", f.caFile, "devices"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "dev-1") {
		t.Errorf("devices: %s", out.String())
	}
}

// TestAdminCommands: device revocation, API tokens, administrator accounts
// and the audit log, each as table and with its refusals.
func TestAdminCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)

	out, errOut, err := f.ctl(t, "admin", "tokens", "create", "--role", "analyst", "--description", "SIEM export")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out)
	if !strings.HasPrefix(token, "vcg_") || strings.Contains(token, "\n") || !strings.Contains(errOut, "not shown again") {
		t.Fatalf("tokens create: stdout %q, stderr %q", out, errOut)
	}
	f.tokenFiles["siem"] = writeFile(t, filepath.Join(t.TempDir(), "siem-token"), token)
	var tokenID string
	if _, _, err := f.ctl(t, "siem", "devices"); err != nil {
		t.Fatalf("the new analyst token does not work: %v", err)
	}
	listed, _, err := f.ctl(t, "admin", "--output", "json", "tokens")
	if err != nil {
		t.Fatal(err)
	}
	var tokens []apitypes.Token
	if err := json.Unmarshal([]byte(listed), &tokens); err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		if tok.Description == "SIEM export" {
			tokenID = tok.ID
		}
		if tok.Value != "" {
			t.Errorf("tokens list shows a token's value")
		}
	}
	if tokenID == "" {
		t.Fatalf("the new token is not listed: %s", listed)
	}

	for _, c := range []ctlCase{
		{name: "tokens list", args: []string{"tokens"}, want: []string{"ROLE", "EXPIRES", "LAST USED", tokenID, "SIEM export", "analyst", "active"}},
		{name: "tokens create without role: the least privileged", args: []string{"tokens", "create"}, want: []string{"vcg_auditor_"},
			wantStderr: []string{"role auditor", "expires"}},
		{name: "tokens create bad ttl", args: []string{"tokens", "create", "--ttl", "9000h"}, wantErr: []string{"--ttl 9000h"}},
		{name: "tokens create bad role", args: []string{"tokens", "create", "--role", "root"}, wantErr: []string{`--role "root"`}},
		{name: "tokens list as analyst: 403", role: "analyst", args: []string{"tokens"}, wantErr: []string{"403"}},
		{name: "tokens revoke", args: []string{"tokens", "revoke", tokenID}, want: []string{"revoked API token " + tokenID}},
		{name: "revoked token: 401", role: "siem", args: []string{"devices"}, wantErr: []string{"401", "token was refused"}},

		{name: "admins create", args: []string{"admins", "create", "alice", "--role", "analyst"},
			want: []string{"username:", "alice", "invite_url:", "/invite/vcgi_", "expires:"}, wantStderr: []string{"shown only now"},
			wantNot: []string{"password", "otpauth"}},
		{name: "admins create without role: the least privileged", args: []string{"admins", "create", "dora"}, want: []string{"auditor"}},
		{name: "admins create twice: 409", args: []string{"admins", "create", "alice", "--role", "analyst"}, wantErr: []string{"409"}},
		{name: "admins create bad name", args: []string{"admins", "create", "a b", "--role", "admin"}, wantErr: []string{"400"}},
		{name: "admins list", args: []string{"admins"}, want: []string{"USERNAME", "alice", "analyst", "never", "invited (not set up)"}},
		{name: "admins disable", args: []string{"admins", "disable", "alice"}, want: []string{"disabled administrator alice"}},
		{name: "admins list disabled", args: []string{"admins"}, want: []string{"disabled "}},
		{name: "admins enable", args: []string{"admins", "enable", "alice"}, want: []string{"enabled administrator alice"}},
		{name: "admins reset", args: []string{"admins", "reset", "alice"},
			want: []string{"invite_url:", "/invite/vcgi_"}, wantStderr: []string{"sessions ended"}},
		{name: "admins reset-password (the old name)", args: []string{"admins", "reset-password", "alice"}, want: []string{"invite_url:"}},
		{name: "admins disable unknown: 404", args: []string{"admins", "disable", "bob"}, wantErr: []string{"404"}},

		{name: "devices revoke as analyst: 403", role: "analyst", args: []string{"devices", "revoke", "dev-1"}, wantErr: []string{"403"}},
		{name: "devices revoke", args: []string{"devices", "revoke", "dev-1"}, want: []string{"revoked device dev-1 (laptop-1)"}},
		{name: "devices list revoked", args: []string{"devices"}, want: []string{"revoked"}},
		{name: "devices revoke unknown: 404", args: []string{"devices", "revoke", "dev-nope"}, wantErr: []string{"404"}},

		{name: "audit", role: "auditor", args: []string{"audit"},
			want: []string{"ACTOR", "ACTION", "token_create", "token_revoke", "admin_invite", "admin_invite_reset", "admin:alice", "device_revoke", "device:dev-1"}},
		{name: "audit filtered", role: "auditor", args: []string{"audit", "--action", "device_revoke", "--limit", "10"}, lines: 2,
			want: []string{"device_revoke"}},
		{name: "audit details as pairs", role: "auditor", args: []string{"audit", "--action", "device_revoke"},
			want: []string{"hostname=laptop-1"}},
		{name: "audit long", role: "auditor", args: []string{"audit", "--action", "device_revoke", "--long"},
			want: []string{"entry ", "  action:  device_revoke", "  target:  device:dev-1", "  hostname=laptop-1"}},
		{name: "audit bad limit", role: "auditor", args: []string{"audit", "--limit", "-5"}, wantErr: []string{"--limit -5"}},
		{name: "audit as analyst: 403", role: "analyst", args: []string{"audit"}, wantErr: []string{"403"}},
	} {
		t.Run(c.name, func(t *testing.T) { f.check(t, c) })
	}
}

// TestListsFollowCursors: on a fleet bigger than a page, devices and events
// list everything, page by page, and --limit stops where asked.
func TestListsFollowCursors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := time.Now().UnixMicro()
	f.env.Exec(t, 2500, `INSERT INTO devices (id, hostname, os, enrolled_at) VALUES ($1, $2, 'linux', $3)`, func(i int) []any {
		return []any{fmt.Sprintf("fleet-id-%05d", i), fmt.Sprintf("fleet-%05d", i), now}
	})
	f.env.Exec(t, 2100, `INSERT INTO events (device_id, seq, type, time, received_at, payload) VALUES ('fleet-id-00007', $1, 'policy_applied', $2, $2, $3)`,
		func(i int) []any { return []any{i + 1, now - int64(i), []byte{}} })
	out, _, err := f.ctl(t, "analyst", "devices")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "\n"); n != 2502 || !strings.Contains(out, "fleet-id-02499") || !strings.Contains(out, "dev-1") {
		t.Errorf("devices: %d lines, want 2,501 devices and a header", n)
	}
	out, _, err = f.ctl(t, "analyst", "--output", "json", "devices")
	var devs []apitypes.DeviceSummary
	if err != nil || json.Unmarshal([]byte(out), &devs) != nil || len(devs) != 2501 {
		t.Errorf("devices --output json: %d devices, %v", len(devs), err)
	}
	seen := map[string]bool{}
	for _, d := range devs {
		seen[d.ID] = true
	}
	if len(seen) != 2501 {
		t.Errorf("devices --output json: %d distinct of %d", len(seen), len(devs))
	}
	out, _, err = f.ctl(t, "analyst", "devices", "--limit", "1500")
	if n := strings.Count(out, "\n"); err != nil || n != 1501 {
		t.Errorf("devices --limit 1500: %d lines, %v", n, err)
	}
	out, _, err = f.ctl(t, "analyst", "events", "--device", "fleet-id-00007", "--limit", "0")
	if n := strings.Count(out, "\n"); err != nil || n != 2101 {
		t.Errorf("events --limit 0: %d lines, %v", n, err)
	}
	out, _, err = f.ctl(t, "analyst", "events", "--device", "fleet-id-00007")
	if n := strings.Count(out, "\n"); err != nil || n != 101 {
		t.Errorf("events: %d lines, %v; want the newest 100", n, err)
	}
}

func TestDetailPairs(t *testing.T) {
	for _, c := range []struct {
		in   string
		cut  int
		want []string
	}{
		{`{"b":"two words","a":1,"c":null,"d":""}`, 0, []string{"a=1", `b="two words"`}},
		{`{"long":"abcdefghij"}`, 4, []string{"long=abcd…(+6)"}},
		{`{"list":[1,2]}`, 0, []string{"list=[1,2]"}},
		{`{}`, 0, []string{}},
		{`null`, 0, nil},
		{`"not an object"`, 0, []string{`"not an object"`}},
		{``, 0, nil},
	} {
		got := detailPairs(json.RawMessage(c.in), c.cut)
		if len(got) != len(c.want) || (len(got) > 0 && !slices.Equal(got, c.want)) {
			t.Errorf("detailPairs(%s, %d) = %q, want %q", c.in, c.cut, got, c.want)
		}
	}
}
