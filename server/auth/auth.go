// Package auth creates and checks the server's secrets: enrollment secrets,
// API tokens and dashboard session ids. Every one is 256 random bits, so a
// SHA-256 hash is enough to store them (no password stretching is needed for
// values nobody chose). Administrators' passwords, which people choose, are
// hashed with argon2id (password.go) and need a TOTP code as second factor
// (totp.go); Login checks both and locks out repeated failures (login.go).
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

// NewSecret returns a new random secret with a readable prefix (e.g.
// "vcg_enroll_…") and the hash to store.
func NewSecret(prefix string) (value string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	value = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return value, Hash(value)
}

// NewID returns a short random identifier for records (not a secret).
func NewID() string {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Hash is how secrets are stored and looked up.
func Hash(value string) []byte {
	h := sha256.Sum256([]byte(value))
	return h[:]
}

// maxTokenLen bounds a presented token: ours are well under it.
const maxTokenLen = 256

// ErrUnauthenticated is returned when no valid credential was presented.
var ErrUnauthenticated = errors.New("missing or invalid API token")

// BearerToken returns the token of an "Authorization: Bearer …" header value,
// or "".
func BearerToken(header string) string {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// Principal is who a request acts as.
type Principal struct {
	Subject string
	Role    store.Role
	// Owner is the account behind the principal: the owner of an API
	// token ("" for a token without one).
	Owner string
}

// TokenChecker resolves API tokens.
type TokenChecker struct {
	Store *store.Store
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Check resolves a bearer token to its principal: a token that is not
// revoked, not expired, and whose owner may still use it (see
// store.UseAPIToken); its use is recorded.
func (c TokenChecker) Check(ctx context.Context, token string) (Principal, error) {
	if token == "" || len(token) > maxTokenLen {
		return Principal{}, ErrUnauthenticated
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	t, err := c.Store.UseAPIToken(ctx, Hash(token), now)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("check API token: %w", err)
	}
	return Principal{Subject: "token:" + t.ID, Role: t.Role, Owner: t.Owner}, nil
}

// CheckRequest resolves the bearer token of an HTTP request.
func (c TokenChecker) CheckRequest(r *http.Request) (Principal, error) {
	return c.Check(r.Context(), BearerToken(r.Header.Get("Authorization")))
}
