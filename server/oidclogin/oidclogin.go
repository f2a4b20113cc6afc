// Package oidclogin signs administrators in through an OpenID Connect
// provider (Entra ID, Keycloak, Google Workspace, Okta, …): the
// authorization code flow with PKCE (S256), the provider found by
// discovery, the ID token verified with github.com/coreos/go-oidc (issuer,
// audience, expiry, signature, nonce), and the vcguard role mapped from a
// group or role claim. It makes no session: the dashboard does, with the
// Identity it returns.
//
// The provider does the multi-factor authentication of these sign-ins:
// vcguard asks no TOTP code of them, so the provider must enforce MFA
// (RequireMFA additionally refuses an ID token whose amr claim does not
// say so).
package oidclogin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/vcguard/vcguard/server/store"
)

// Config is the OpenID Connect sign-in as vcguard-server's --oidc-* flags
// set it.
type Config struct {
	// Issuer is the provider's issuer URL; discovery reads
	// Issuer/.well-known/openid-configuration.
	Issuer string
	// Name is shown on the login page: "Sign in with <Name>".
	Name     string
	ClientID string
	// ClientSecret is read from a file (ReadClientSecret); never logged.
	ClientSecret string
	// RedirectURL is this server's /oidc/callback as the provider knows it.
	RedirectURL string
	// RolesClaim is the ID token claim with the groups or roles ("groups",
	// "roles").
	RolesClaim string
	Roles      RoleMap
	// AllowedDomains, when set, are the only email domains let in (lower
	// case); the ID token must then carry a verified email.
	AllowedDomains []string
	// RequireMFA refuses an ID token whose amr claim holds none of "mfa",
	// "otp", "hwk", "swk", "fido", "sms".
	RequireMFA bool
	// Scopes asked for beyond openid, email and profile (e.g. "groups" for
	// providers that need it).
	Scopes []string
}

// Validate says what is missing or wrong in the configuration.
func (c Config) Validate() error {
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("--oidc-issuer %q: not an https:// URL", c.Issuer)
	}
	if c.ClientID == "" {
		return errors.New("--oidc-client-id is required with --oidc-issuer")
	}
	r, err := url.Parse(c.RedirectURL)
	if err != nil || r.Scheme != "https" || r.Host == "" || r.Path != "/oidc/callback" {
		return fmt.Errorf("--oidc-redirect-url %q: must be https://<dashboard host>/oidc/callback", c.RedirectURL)
	}
	if c.RolesClaim == "" {
		return errors.New("--oidc-roles-claim is empty")
	}
	if len(c.Roles) == 0 {
		return errors.New("--oidc-role-map is required with --oidc-issuer: map a group or role to admin, analyst or auditor")
	}
	return nil
}

// ReadClientSecret reads the client secret from path, which on Unix must be
// readable by its owner only (mode 0600).
func ReadClientSecret(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("--oidc-client-secret-file: %w", err)
	}
	if err := checkSecretPrivate(path, info); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--oidc-client-secret-file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("--oidc-client-secret-file %s is empty", path)
	}
	return s, nil
}

// retryDiscovery is the least time between two discovery attempts after
// one failed.
const retryDiscovery = 30 * time.Second

// exchangeTimeout bounds a callback's calls to the provider: the code
// exchange and, when the keys rotated, fetching them.
const exchangeTimeout = 15 * time.Second

// Provider is the configured provider. Discovery that fails at start-up is
// retried at the next sign-in (at most every 30 seconds), so the server
// starts, and local accounts work, while the provider is unreachable.
type Provider struct {
	cfg    Config
	logger *slog.Logger

	mu       sync.Mutex
	op       *oidc.Provider
	lastTry  time.Time
	lastErr  error
	verifier *oidc.IDTokenVerifier
}

// New returns the provider of cfg; it does not discover it yet.
func New(cfg Config, logger *slog.Logger) *Provider {
	if cfg.Name == "" {
		cfg.Name = "single sign-on"
	}
	return &Provider{cfg: cfg, logger: logger}
}

// Name is the provider's name for the login page.
func (p *Provider) Name() string { return p.cfg.Name }

// Issuer is the configured issuer URL.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Discover fetches the provider's discovery document and keys' location; an
// error names the issuer.
func (p *Provider) Discover(ctx context.Context) error {
	_, _, err := p.discovered(ctx, true)
	return err
}

func (p *Provider) discovered(ctx context.Context, force bool) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op != nil {
		return p.op, p.verifier, nil
	}
	if !force && !p.lastTry.IsZero() && time.Since(p.lastTry) < retryDiscovery {
		return nil, nil, p.lastErr
	}
	p.lastTry = time.Now()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(dctx, p.cfg.Issuer)
	if err != nil {
		p.lastErr = fmt.Errorf("OpenID Connect discovery of %s failed (retried at the next sign-in): %w", p.cfg.Issuer, err)
		return nil, nil, p.lastErr
	}
	p.op, p.lastErr = op, nil
	p.verifier = op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID})
	return p.op, p.verifier, nil
}

func (p *Provider) oauth2(op *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: p.cfg.RedirectURL, Scopes: append([]string{oidc.ScopeOpenID, "email", "profile"}, p.cfg.Scopes...)}
}

// Pending is a sign-in under way: what the callback must match. The
// dashboard keeps it in a short-lived cookie.
type Pending struct {
	State, Nonce, Verifier string
}

// Begin starts a sign-in: fresh state, nonce and PKCE verifier, and the
// provider's authorization URL to send the browser to.
func (p *Provider) Begin(ctx context.Context) (authURL string, pend Pending, err error) {
	op, _, err := p.discovered(ctx, false)
	if err != nil {
		return "", pend, err
	}
	pend = Pending{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
	return p.oauth2(op).AuthCodeURL(pend.State, oidc.Nonce(pend.Nonce), oauth2.S256ChallengeOption(pend.Verifier)), pend, nil
}

// Identity is a verified sign-in.
type Identity struct {
	Issuer, Subject string
	// Email is set when the provider says it is verified.
	Email string
	// Name is the display name (name or preferred_username claim).
	Name string
	// Values are the roles claim's values; Role what they map to.
	Values []string
	Role   store.Role
	AMR    []string
}

// Label is how the identity is shown and audited: its verified email, or
// its subject.
func (id Identity) Label() string {
	if id.Email != "" {
		return "oidc:" + id.Email
	}
	return "oidc:" + id.Subject
}

// Refusal is a sign-in that is refused; Reason says why, for the audit
// log (never a token or code).
type Refusal struct {
	Reason string
	// Identity is what was verified before the refusal (zero if the token
	// was not).
	Identity Identity
	err      error
}

func (r *Refusal) Error() string {
	if r.err != nil {
		return r.Reason + ": " + r.err.Error()
	}
	return r.Reason
}

func (r *Refusal) Unwrap() error { return r.err }

// mfaMethods are the amr values (RFC 8176) that count as multi-factor.
var mfaMethods = []string{"mfa", "otp", "hwk", "swk", "fido", "sms", "sc"}

// Finish completes a sign-in: it exchanges code with the PKCE verifier,
// verifies the ID token (signature, issuer, audience, expiry and nonce) and
// maps the role. Everything refused is a *Refusal.
func (p *Provider) Finish(ctx context.Context, code string, pend Pending) (Identity, error) {
	op, verifier, err := p.discovered(ctx, false)
	if err != nil {
		return Identity{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	defer cancel()
	tok, err := p.oauth2(op).Exchange(ctx, code, oauth2.VerifierOption(pend.Verifier))
	if err != nil {
		return Identity{}, &Refusal{Reason: "code exchange failed", err: redactedError(err)}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, &Refusal{Reason: "token invalid: no id_token in the token response"}
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, &Refusal{Reason: "token invalid", err: err}
	}
	if pend.Nonce == "" || idt.Nonce != pend.Nonce {
		return Identity{}, &Refusal{Reason: "token invalid: wrong nonce"}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, &Refusal{Reason: "token invalid", err: err}
	}
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject, Values: claimValues(claims, p.cfg.RolesClaim),
		AMR: claimValues(claims, "amr")}
	if verified, _ := claims["email_verified"].(bool); verified {
		id.Email, _ = claims["email"].(string)
		id.Email = strings.ToLower(id.Email)
	}
	if p.cfg.RolesClaim == "email" {
		// Only a verified email may pick a role.
		id.Values = nil
		if id.Email != "" {
			id.Values = []string{id.Email}
		}
	}
	if n, _ := claims["name"].(string); n != "" {
		id.Name = n
	} else {
		id.Name, _ = claims["preferred_username"].(string)
	}
	if len(p.cfg.AllowedDomains) > 0 && (id.Email == "" || !DomainAllowed(id.Email, p.cfg.AllowedDomains)) {
		return id, &Refusal{Reason: "email domain not allowed", Identity: id}
	}
	if p.cfg.RequireMFA && !slices.ContainsFunc(id.AMR, func(m string) bool { return slices.Contains(mfaMethods, m) }) {
		return id, &Refusal{Reason: "no multi-factor authentication in the amr claim", Identity: id}
	}
	if id.Role = p.cfg.Roles.Role(id.Values); id.Role == "" {
		return id, &Refusal{Reason: "no role mapped from the " + p.cfg.RolesClaim + " claim", Identity: id}
	}
	return id, nil
}

// redactedError keeps an OAuth2 error's code and description but not the
// response body, which could echo what was sent.
func redactedError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return fmt.Errorf("provider answered %s %s", re.ErrorCode, re.ErrorDescription)
		}
		if re.Response != nil {
			return fmt.Errorf("provider answered HTTP %d", re.Response.StatusCode)
		}
	}
	return err
}
