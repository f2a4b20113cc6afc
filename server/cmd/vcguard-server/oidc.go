package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"strings"

	"github.com/vcguard/vcguard/server/oidclogin"
)

// oidcFlags are the --oidc-* flags: sign-in through an OpenID Connect
// provider, off unless --oidc-issuer is set.
type oidcFlags struct {
	Issuer, Name, ClientID, ClientSecretFile, RedirectURL, RolesClaim, RoleMap, AllowedDomains, Scopes string
	RequireMFA                                                                                         bool
	cfg                                                                                                oidclogin.Config
}

func (o *oidcFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.Issuer, "oidc-issuer", "", "issuer URL of an OpenID Connect provider that administrators sign in with (e.g. https://login.microsoftonline.com/TENANT/v2.0, "+
		"https://keycloak.example.com/realms/REALM, https://accounts.google.com); empty: local accounts only")
	fs.StringVar(&o.Name, "oidc-name", "single sign-on", "the provider's name on the login page (\"Sign in with NAME\")")
	fs.StringVar(&o.ClientID, "oidc-client-id", "", "client ID of vcguard at the provider")
	fs.StringVar(&o.ClientSecretFile, "oidc-client-secret-file", "", "file with the client secret (mode 0600; never logged)")
	fs.StringVar(&o.RedirectURL, "oidc-redirect-url", "", "the dashboard's callback as registered at the provider: https://HOST[:PORT]/oidc/callback")
	fs.StringVar(&o.RolesClaim, "oidc-roles-claim", "groups", "ID token claim with the groups or roles that --oidc-role-map maps (groups, roles, …)")
	fs.StringVar(&o.RoleMap, "oidc-role-map", "", "comma-separated VALUE=ROLE: a value of the roles claim (group name or ID, app role) and the role it gives "+
		"(admin, analyst, auditor); the highest mapped role wins, and a sign-in with no mapped value is refused")
	fs.StringVar(&o.AllowedDomains, "oidc-allowed-domains", "", "comma-separated email domains let in (the ID token must carry a verified email); empty: any")
	fs.BoolVar(&o.RequireMFA, "oidc-require-mfa", false, "refuse an ID token whose amr claim does not show multi-factor authentication (mfa, otp, hwk, swk, fido, sms, sc)")
	fs.StringVar(&o.Scopes, "oidc-scopes", "", "comma-separated scopes asked for beyond openid, email and profile (e.g. groups, if the provider needs it for the groups claim)")
}

func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// validate checks the flags' shape (the secret file is read at start).
func (o *oidcFlags) validate() error {
	if o.Issuer == "" {
		if o.ClientID != "" || o.RoleMap != "" || o.ClientSecretFile != "" {
			return errors.New("--oidc-client-id, --oidc-client-secret-file and --oidc-role-map need --oidc-issuer")
		}
		return nil
	}
	roles, err := oidclogin.ParseRoleMap(o.RoleMap)
	if err != nil {
		return err
	}
	if o.ClientSecretFile == "" {
		return errors.New("--oidc-client-secret-file is required with --oidc-issuer")
	}
	var domains []string
	for _, d := range splitList(o.AllowedDomains) {
		domains = append(domains, strings.ToLower(strings.TrimPrefix(d, "@")))
	}
	o.cfg = oidclogin.Config{Issuer: o.Issuer, Name: o.Name, ClientID: o.ClientID, RedirectURL: o.RedirectURL,
		RolesClaim: o.RolesClaim, Roles: roles, AllowedDomains: domains, RequireMFA: o.RequireMFA, Scopes: splitList(o.Scopes)}
	return o.cfg.Validate()
}

// provider reads the client secret and discovers the provider; nil when
// --oidc-issuer is not set. Discovery that fails is logged and retried at
// the next sign-in, so the server (and local logins) start all the same.
func (o *oidcFlags) provider(ctx context.Context, logger *slog.Logger) (*oidclogin.Provider, error) {
	if o.Issuer == "" {
		return nil, nil
	}
	secret, err := oidclogin.ReadClientSecret(o.ClientSecretFile)
	if err != nil {
		return nil, err
	}
	cfg := o.cfg
	cfg.ClientSecret = secret
	p := oidclogin.New(cfg, logger)
	if err := p.Discover(ctx); err != nil {
		logger.Warn("OpenID Connect sign-in not available yet", "err", err)
	} else {
		logger.Info("OpenID Connect sign-in", "issuer", cfg.Issuer, "client_id", cfg.ClientID, "roles_claim", cfg.RolesClaim)
	}
	return p, nil
}
