// Package admin is the one admin service of the server: every change
// (publish or roll back a policy, create or revoke an enrollment secret or
// an API token, add, disable, enable or reset an administrator, revoke a
// device) takes the Actor who makes it, is validated here once, and is
// recorded in the audit log inside the store transaction that makes it.
// The JSON API (adminapi) and the dashboard are adapters over it; none
// of them writes to the store or the audit log itself.
package admin

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/policies/groupname"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/fanout"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/store"
)

// DefaultStaleAfter is how long a connected device may stay silent before
// it is shown offline; agents send a heartbeat every 30 s.
const DefaultStaleAfter = 90 * time.Second

// MaxPolicySize bounds a published policy document.
const MaxPolicySize = 1 << 20

// maxDescription bounds the description of a token or enrollment secret.
const maxDescription = 200

// Service holds what the admin operations need.
type Service struct {
	Store *store.Store
	// Catalog is the catalog built into the server; CurrentCatalog is the
	// newest published one, which policies are validated against.
	Catalog   *policies.Catalog
	PolicyKey ed25519.PrivateKey
	// Hub pushes published policies and cuts revoked devices off on this
	// replica; nil does neither (the store's notice reaches the others).
	Hub    *fanout.Hub
	Logger *slog.Logger
	// StaleAfter is how long a device may stay silent and still be online;
	// 0 means DefaultStaleAfter.
	StaleAfter time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Metrics records store latency; nil records nothing.
	Metrics *metrics.Metrics
	// PasswordHashing are the argon2id parameters of new admin passwords;
	// zero means auth.DefaultArgon2 (tests use cheaper ones).
	PasswordHashing auth.Argon2Params
	// InviteTTL is how long an invite link works; 0 means DefaultInviteTTL.
	InviteTTL time.Duration

	// catalogs is the newest published catalog (CurrentCatalog).
	catalogs catalogCache
}

// Now is the service's current time.
func (s *Service) Now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// Stale is how long a device may stay silent and still be online.
func (s *Service) Stale() time.Duration {
	if s.StaleAfter > 0 {
		return s.StaleAfter
	}
	return DefaultStaleAfter
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// ErrInvalid wraps errors caused by the caller's input.
var ErrInvalid = errors.New("invalid input")

// ErrLastAdmin refuses to disable the last enabled account of role admin.
var ErrLastAdmin = store.ErrLastAdmin

// ErrNotFound is returned for a record that does not exist (a device,
// policy version, secret, token, account or session).
var ErrNotFound = store.ErrNotFound

// ErrExists refuses a record whose unique key is taken (an account's
// username).
var ErrExists = store.ErrExists

// Role is what an account or API token may do.
type Role = store.Role

// The roles.
const (
	// RoleAdmin reads and acts.
	RoleAdmin = store.RoleAdmin
	// RoleAnalyst reads the fleet.
	RoleAnalyst = store.RoleAnalyst
	// RoleAuditor reads the audit log only.
	RoleAuditor = store.RoleAuditor
)

// Actor is who makes a change and from where, for the audit log: an
// admin's username, "token:ID" for an API token, or "system" (first start,
// the vcguard-server admin command).
type Actor struct {
	Subject    string
	RemoteAddr string
}

// SystemActor is the server itself and its command line.
var SystemActor = Actor{Subject: "system"}

// entry is the audit entry of a change by actor; detail is marshalled to
// JSON (nil is stored as {}).
func (s *Service) entry(by Actor, action, target string, detail any) (store.AuditEntry, error) {
	e := store.AuditEntry{At: s.Now(), Actor: by.Subject, Action: action, Target: target, RemoteAddr: by.RemoteAddr}
	if by.Subject == "" {
		return e, fmt.Errorf("%s: no actor", action)
	}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return e, fmt.Errorf("audit %s: %w", action, err)
		}
		e.Detail = b
	}
	return e, nil
}

// ValidateGroup checks a device group name by the policy's rule ("" is no
// group).
func ValidateGroup(group string) error {
	if group == "" || groupname.Valid(group) {
		return nil
	}
	return fmt.Errorf("%w: group %q: a policy can only target a group named with %s", ErrInvalid, group, groupname.Rule)
}

func validRole(r store.Role) bool {
	return r == store.RoleAdmin || r == store.RoleAnalyst || r == store.RoleAuditor
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// RecordExport records in the audit log that by exported file (a CSV
// download) with the filter query, before the data is sent.
func (s *Service) RecordExport(ctx context.Context, by Actor, file, query string) error {
	detail := map[string]any{"file": file}
	if query != "" {
		detail["query"] = query
	}
	e, err := s.entry(by, "export", "export:"+file, detail)
	if err != nil {
		return err
	}
	return s.Store.AppendAudit(ctx, e)
}
