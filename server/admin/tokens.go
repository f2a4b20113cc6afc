package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
)

// Token lifetimes: every token made by a person expires; DefaultTokenTTL
// when none is chosen, at most MaxTokenTTL.
const (
	DefaultTokenTTL = 90 * 24 * time.Hour
	MaxTokenTTL     = 366 * 24 * time.Hour
)

// TokenRequest is a new API token asked for by an account (or by a token
// acting for one).
type TokenRequest struct {
	Description string
	// Role is the token's role ("" is DefaultRole, or CreatorRole when
	// that does not cover DefaultRole); it must be covered by CreatorRole
	// (store.Role.Covers).
	Role Role
	// TTL is how long the token works: 0 is DefaultTokenTTL; at most
	// MaxTokenTTL.
	TTL time.Duration
	// CreatorRole is the role of the session or token asking.
	CreatorRole Role
	// Owner is the account the token belongs to ("" only for a token made
	// by a token without owner): the token stops working when the account
	// is disabled or loses the role.
	Owner string
}

// IssueAPIToken makes a token for an account, scoped to at most the
// creator's role and expiring; the value is returned once.
func (s *Service) IssueAPIToken(ctx context.Context, by Actor, req TokenRequest) (store.APIToken, string, error) {
	if req.Role == "" {
		// The least privileged role the creator may give.
		req.Role = DefaultRole
		if !req.CreatorRole.Covers(DefaultRole) {
			req.Role = req.CreatorRole
		}
	}
	if !validRole(req.Role) {
		return store.APIToken{}, "", fmt.Errorf("%w: role %q: want admin, analyst or auditor", ErrInvalid, req.Role)
	}
	if !req.CreatorRole.Covers(req.Role) {
		return store.APIToken{}, "", fmt.Errorf("%w: role %q: a token's role cannot exceed yours (%s)", ErrInvalid, req.Role, req.CreatorRole)
	}
	if req.TTL == 0 {
		req.TTL = DefaultTokenTTL
	}
	if req.TTL < time.Minute || req.TTL > MaxTokenTTL {
		return store.APIToken{}, "", fmt.Errorf("%w: expiry: a token works for 1 minute to %d days", ErrInvalid, MaxTokenTTL/(24*time.Hour))
	}
	if len(req.Description) > maxDescription {
		return store.APIToken{}, "", fmt.Errorf("%w: description longer than %d bytes", ErrInvalid, maxDescription)
	}
	value, hash := auth.NewSecret("vcg_" + string(req.Role) + "_")
	now := s.Now().UTC().Truncate(time.Microsecond)
	t := store.APIToken{ID: "tok_" + auth.NewID(), Description: req.Description, Hash: hash, Role: req.Role, Created: now,
		Owner: req.Owner, Expires: now.Add(req.TTL)}
	e, err := s.entry(by, "token_create", "token:"+t.ID,
		map[string]any{"role": t.Role, "description": t.Description, "owner": t.Owner, "expires": t.Expires})
	if err != nil {
		return t, "", err
	}
	if err := s.Store.CreateAPIToken(ctx, t, e); err != nil {
		return t, "", err
	}
	s.logger().Info("API token created", "id", t.ID, "role", t.Role, "owner", t.Owner, "by", by.Subject)
	return t, value, nil
}

// APITokensOf lists the tokens an account owns, revoked ones too, newest
// first.
func (s *Service) APITokensOf(ctx context.Context, owner string) ([]apitypes.Token, error) {
	list, err := s.Store.APITokensOf(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]apitypes.Token, 0, len(list))
	for _, t := range list {
		out = append(out, TokenView(t))
	}
	return out, nil
}

// RevokeOwnAPIToken revokes a token that owner owns; ErrNotFound, changing
// nothing, for a token of anyone else.
func (s *Service) RevokeOwnAPIToken(ctx context.Context, by Actor, owner, id string) (store.APIToken, error) {
	if owner == "" {
		return store.APIToken{}, fmt.Errorf("API token %s: %w", id, ErrNotFound)
	}
	e, err := s.entry(by, "token_revoke", "token:"+id, map[string]any{"owner": owner})
	if err != nil {
		return store.APIToken{}, err
	}
	return s.Store.RevokeAPITokenOf(ctx, id, owner, s.Now(), e)
}
