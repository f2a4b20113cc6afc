package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
)

// Session is a dashboard login; the store keeps only its hash, so any
// replica can serve it.
type Session = store.Session

// NewLogin returns the login checks of the dashboard over the service's
// accounts, with the default limits, the service's clock and its password
// hashing parameters.
func (s *Service) NewLogin(logger *slog.Logger) *auth.Login {
	login := auth.NewLogin(s.Store, logger)
	login.Now = s.Clock
	if s.PasswordHashing != (auth.Argon2Params{}) {
		login.DummyArgon2 = s.PasswordHashing
	}
	return login
}

// Session finds the session whose token hashes to hash and that has not
// expired at now; ErrNotFound if there is none.
func (s *Service) Session(ctx context.Context, hash []byte, now time.Time) (Session, error) {
	return s.Store.SessionByHash(ctx, hash, now)
}

// StartSession stores the session of a successful login (and drops expired
// ones).
func (s *Service) StartSession(ctx context.Context, sess Session) error {
	return s.Store.CreateSession(ctx, sess)
}

// EndSession ends a dashboard session (a logout), recorded in the audit
// log in the same transaction.
func (s *Service) EndSession(ctx context.Context, by Actor, hash []byte) error {
	e, err := s.entry(by, "logout", "admin:"+by.Subject, nil)
	if err != nil {
		return err
	}
	return s.Store.DeleteSession(ctx, hash, e)
}

// OIDCIdentity is an administrator known from the OpenID Connect provider.
type OIDCIdentity = store.OIDCIdentity

// StartOIDCSession stores the session of a sign-in through the OpenID
// Connect provider, with the identity and the "login_success" entry (and a
// "role_change" entry when the role its claims map to differs from its last
// sign-in's) in one transaction. It returns the previous role ("" for a
// first sign-in).
func (s *Service) StartOIDCSession(ctx context.Context, id OIDCIdentity, sess Session, remoteAddr string, detail map[string]any) (Role, error) {
	b, err := json.Marshal(detail)
	if err != nil {
		return "", fmt.Errorf("audit login_success: %w", err)
	}
	return s.Store.OIDCSignIn(ctx, id, sess, store.AuditEntry{At: id.LastLogin, Actor: id.Label, Action: "login_success",
		Target: "admin:" + id.Label, Detail: b, RemoteAddr: remoteAddr})
}

// OIDCIdentities lists the administrators who signed in through the OpenID
// Connect provider, the latest first.
func (s *Service) OIDCIdentities(ctx context.Context) ([]OIDCIdentity, error) {
	return s.Store.OIDCIdentities(ctx)
}
