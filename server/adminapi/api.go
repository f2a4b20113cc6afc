// Package adminapi serves the administration API: JSON over HTTPS for the
// dashboard and integrations, and the gRPC AdminService for vcguardctl. Both
// authenticate with API tokens and call the same operations.
package adminapi

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/agentapi"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/fanout"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/store"
)

// DefaultStaleAfter is how long a connected device may stay silent before
// it is shown offline; agents send a heartbeat every 30 s.
const DefaultStaleAfter = 90 * time.Second

// maxPolicySize bounds a published policy document.
const maxPolicySize = 1 << 20

// API holds what the admin operations need.
type API struct {
	Store     *store.Store
	Catalog   *policies.Catalog
	PolicyKey ed25519.PrivateKey
	Hub       *fanout.Hub
	Tokens    auth.TokenChecker
	Logger    *slog.Logger
	// StaleAfter is how long a device may stay silent and still be online;
	// 0 means DefaultStaleAfter.
	StaleAfter time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Metrics records store latency; nil records nothing.
	Metrics *metrics.Metrics
	// PasswordHashing are the argon2id parameters of new admin passwords;
	// zero means auth.DefaultArgon2 (tests use cheaper ones).
	PasswordHashing auth.Argon2Params
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *API) staleAfter() time.Duration {
	if a.StaleAfter > 0 {
		return a.StaleAfter
	}
	return DefaultStaleAfter
}

// ErrInvalid wraps errors caused by the caller's input.
var ErrInvalid = errors.New("invalid input")

// PublishPolicy validates a policy document against the catalog, stores it
// as a new signed version and pushes it to every connected agent.
func (a *API) PublishPolicy(ctx context.Context, document []byte, by string) (store.PolicyVersion, error) {
	if len(document) > maxPolicySize {
		return store.PolicyVersion{}, fmt.Errorf("%w: policy is %d bytes, at most %d are accepted", ErrInvalid, len(document), maxPolicySize)
	}
	p, err := policies.ParsePolicy("policy", document, a.Catalog)
	if err != nil {
		return store.PolicyVersion{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	storeDone := a.Metrics.StoreTimer(metrics.OpPublish)
	v, err := a.Store.PublishPolicy(ctx, p.Name, document, by, a.now(), func(version uint64, doc []byte) []byte {
		return policies.SignPolicy(a.PolicyKey, version, doc)
	})
	storeDone()
	if err != nil {
		return v, err
	}
	a.Logger.Info("policy published", "version", v.Version, "name", v.Name, "by", by)
	a.Hub.Publish(agentapi.SignedPolicy(v))
	return v, nil
}

// CreateEnrollmentSecret makes a new secret; the value is returned once.
func (a *API) CreateEnrollmentSecret(ctx context.Context, description string, ttl time.Duration) (store.EnrollmentSecret, string, error) {
	return a.CreateGroupEnrollmentSecret(ctx, description, "", ttl)
}

// maxGroupLen bounds a device group name.
const maxGroupLen = 64

// validGroup reports whether group is "" or a name of letters, digits,
// '.', '_' and '-', as policy group names are written.
func validGroup(group string) bool {
	if len(group) > maxGroupLen {
		return false
	}
	for _, c := range group {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// RevokeDevice revokes a device: its stream is cut off at once here and,
// through the store's notice, on every other replica; it may neither
// connect nor renew its certificate again.
func (a *API) RevokeDevice(ctx context.Context, id string) (store.Device, error) {
	d, err := a.Store.RevokeDevice(ctx, id, a.now())
	if err != nil {
		return d, err
	}
	cut := a.Hub.Revoke(id)
	a.Logger.Info("device revoked", "device", id, "streams_cut_here", cut)
	return d, nil
}

// CreateGroupEnrollmentSecret makes a new secret whose devices join group
// ("" for none); the value is returned once.
func (a *API) CreateGroupEnrollmentSecret(ctx context.Context, description, group string, ttl time.Duration) (store.EnrollmentSecret, string, error) {
	if !validGroup(group) {
		return store.EnrollmentSecret{}, "", fmt.Errorf("%w: group %q: use at most %d letters, digits, '.', '_' or '-'", ErrInvalid, group, maxGroupLen)
	}
	if ttl < 0 {
		return store.EnrollmentSecret{}, "", fmt.Errorf("%w: ttl must not be negative", ErrInvalid)
	}
	value, hash := auth.NewSecret("vcg_enroll_")
	now := a.now().UTC().Truncate(time.Microsecond)
	e := store.EnrollmentSecret{ID: "es_" + auth.NewID(), Description: description, Hash: hash, Created: now, Group: group}
	if ttl > 0 {
		e.Expires = now.Add(ttl)
	}
	if err := a.Store.CreateEnrollmentSecret(ctx, e); err != nil {
		return e, "", err
	}
	a.Logger.Info("enrollment secret created", "id", e.ID, "group", group)
	return e, value, nil
}
