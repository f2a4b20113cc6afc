package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
)

// The enrollment secret limits (apitypes.DefaultSecretTTL and the rest).
const (
	DefaultSecretTTL = apitypes.DefaultSecretTTL
	MaxSecretTTL     = apitypes.MaxSecretTTL
	MaxSecretUses    = apitypes.MaxSecretUses
)

// SecretSpec is what a new enrollment secret is made of.
type SecretSpec struct {
	Description string
	// Group is the device group its devices join: "" for none, else a
	// name a policy can target.
	Group string
	// TTL is how long it may be used; 0 is DefaultSecretTTL.
	TTL time.Duration
	// MaxUses is how many devices may enroll with it; 0 is no limit.
	MaxUses int64
}

// CreateEnrollmentSecret makes a new secret; the value is returned once.
func (s *Service) CreateEnrollmentSecret(ctx context.Context, by Actor, spec SecretSpec) (store.EnrollmentSecret, string, error) {
	if err := ValidateGroup(spec.Group); err != nil {
		return store.EnrollmentSecret{}, "", err
	}
	switch {
	case spec.TTL < 0:
		return store.EnrollmentSecret{}, "", fmt.Errorf("%w: ttl must not be negative", ErrInvalid)
	case spec.TTL > MaxSecretTTL:
		return store.EnrollmentSecret{}, "", fmt.Errorf("%w: ttl %v is longer than the most a secret may last, %d days", ErrInvalid, spec.TTL, MaxSecretTTL/(24*time.Hour))
	case spec.MaxUses < 0 || spec.MaxUses > MaxSecretUses:
		return store.EnrollmentSecret{}, "", fmt.Errorf("%w: max_uses %d: want 0 (no limit) to %d", ErrInvalid, spec.MaxUses, MaxSecretUses)
	case len(spec.Description) > maxDescription:
		return store.EnrollmentSecret{}, "", fmt.Errorf("%w: description longer than %d bytes", ErrInvalid, maxDescription)
	}
	ttl := spec.TTL
	if ttl == 0 {
		ttl = DefaultSecretTTL
	}
	value, hash := auth.NewSecret("vcg_enroll_")
	now := s.Now().UTC().Truncate(time.Microsecond)
	sec := store.EnrollmentSecret{ID: "es_" + auth.NewID(), Description: spec.Description, Hash: hash, Created: now,
		Expires: now.Add(ttl), Group: spec.Group, MaxUses: spec.MaxUses}
	e, err := s.entry(by, "enrollment_secret_create", "enrollment_secret:"+sec.ID,
		map[string]any{"description": sec.Description, "group": sec.Group, "expires": optTime(sec.Expires), "max_uses": sec.MaxUses})
	if err != nil {
		return sec, "", err
	}
	if err := s.Store.CreateEnrollmentSecret(ctx, sec, e); err != nil {
		return sec, "", err
	}
	s.logger().Info("enrollment secret created", "id", sec.ID, "group", sec.Group, "expires", sec.Expires, "max_uses", sec.MaxUses, "by", by.Subject)
	return sec, value, nil
}

// RevokeEnrollmentSecret revokes a secret: no device enrolls with it again.
func (s *Service) RevokeEnrollmentSecret(ctx context.Context, by Actor, id string) (store.EnrollmentSecret, error) {
	e, err := s.entry(by, "enrollment_secret_revoke", "enrollment_secret:"+id, nil)
	if err != nil {
		return store.EnrollmentSecret{}, err
	}
	return s.Store.RevokeEnrollmentSecret(ctx, id, s.Now(), e)
}

// RevokeDevice revokes a device: its stream is cut off at once here and,
// through the store's notice, on every other replica; it may neither
// connect nor renew its certificate again.
func (s *Service) RevokeDevice(ctx context.Context, by Actor, id string) (store.Device, error) {
	rec, err := s.Store.DeviceRecord(ctx, id)
	if err != nil {
		return rec, err
	}
	e, err := s.entry(by, "device_revoke", "device:"+id, map[string]any{"hostname": rec.Hostname})
	if err != nil {
		return rec, err
	}
	d, err := s.Store.RevokeDevice(ctx, id, s.Now(), e)
	if err != nil {
		return d, err
	}
	cut := 0
	if s.Hub != nil {
		cut = s.Hub.Revoke(id)
	}
	s.logger().Info("device revoked", "device", id, "streams_cut_here", cut, "by", by.Subject)
	return d, nil
}

// CreateAPIToken makes a token of a role; the value is returned once.
func (s *Service) CreateAPIToken(ctx context.Context, by Actor, description string, role store.Role) (store.APIToken, string, error) {
	if !validRole(role) {
		return store.APIToken{}, "", fmt.Errorf("%w: role %q: want admin, analyst or auditor", ErrInvalid, role)
	}
	if len(description) > maxDescription {
		return store.APIToken{}, "", fmt.Errorf("%w: description longer than %d bytes", ErrInvalid, maxDescription)
	}
	value, hash := auth.NewSecret("vcg_" + string(role) + "_")
	t := store.APIToken{ID: "tok_" + auth.NewID(), Description: description, Hash: hash, Role: role,
		Created: s.Now().UTC().Truncate(time.Microsecond)}
	e, err := s.entry(by, "token_create", "token:"+t.ID, map[string]any{"role": role, "description": description})
	if err != nil {
		return t, "", err
	}
	if err := s.Store.CreateAPIToken(ctx, t, e); err != nil {
		return t, "", err
	}
	return t, value, nil
}

// RevokeAPIToken revokes a token at once.
func (s *Service) RevokeAPIToken(ctx context.Context, by Actor, id string) (store.APIToken, error) {
	e, err := s.entry(by, "token_revoke", "token:"+id, nil)
	if err != nil {
		return store.APIToken{}, err
	}
	return s.Store.RevokeAPIToken(ctx, id, s.Now(), e)
}

func (s *Service) passwordHash(pw string) (string, error) {
	if s.PasswordHashing != (auth.Argon2Params{}) {
		return auth.HashPasswordWith(pw, s.PasswordHashing)
	}
	return auth.HashPassword(pw)
}

// NewAdmin is a created account with its credentials, shown once.
type NewAdmin struct {
	Admin    store.Admin
	Password string
	// TOTPURL is the otpauth:// URL to enrol an authenticator app with.
	TOTPURL string
}

// CreateAdmin makes an account with a random password and a new TOTP
// secret.
func (s *Service) CreateAdmin(ctx context.Context, by Actor, username string, role store.Role) (NewAdmin, error) {
	name, err := auth.NormalizeUsername(username)
	if err != nil {
		return NewAdmin{}, fmt.Errorf("%w: username %q: %w", ErrInvalid, username, err)
	}
	if !validRole(role) {
		return NewAdmin{}, fmt.Errorf("%w: role %q: want admin, analyst or auditor", ErrInvalid, role)
	}
	key, err := auth.NewTOTPKey(name)
	if err != nil {
		return NewAdmin{}, err
	}
	pw := auth.NewPassword()
	hash, err := s.passwordHash(pw)
	if err != nil {
		return NewAdmin{}, err
	}
	adm := store.Admin{ID: "adm_" + auth.NewID(), Username: name, PasswordHash: hash, TOTPSecret: key.Secret(), Role: role,
		Created: s.Now().UTC().Truncate(time.Microsecond)}
	e, err := s.entry(by, "admin_add", "admin:"+name, map[string]any{"role": role})
	if err != nil {
		return NewAdmin{}, err
	}
	if err := s.Store.CreateAdmin(ctx, adm, e); err != nil {
		return NewAdmin{}, err
	}
	s.logger().Info("admin added", "username", name, "role", role, "by", by.Subject)
	return NewAdmin{Admin: adm, Password: pw, TOTPURL: key.URL()}, nil
}

// ResetAdminPassword gives an account a new random password (and, with
// newTOTP, a new TOTP secret), ends its sessions and returns the new
// credentials once.
func (s *Service) ResetAdminPassword(ctx context.Context, by Actor, username string, newTOTP bool) (NewAdmin, error) {
	adm, err := s.Store.AdminByUsername(ctx, username)
	if err != nil {
		return NewAdmin{}, err
	}
	pw := auth.NewPassword()
	hash, err := s.passwordHash(pw)
	if err != nil {
		return NewAdmin{}, err
	}
	out := NewAdmin{Admin: adm, Password: pw}
	var secret string
	if newTOTP {
		key, err := auth.NewTOTPKey(adm.Username)
		if err != nil {
			return NewAdmin{}, err
		}
		secret, out.TOTPURL = key.Secret(), key.URL()
	}
	e, err := s.entry(by, "admin_passwd", "admin:"+adm.Username, map[string]any{"new_totp": newTOTP})
	if err != nil {
		return NewAdmin{}, err
	}
	if err := s.Store.ResetAdminCredentials(ctx, adm.Username, hash, secret, e); err != nil {
		return NewAdmin{}, err
	}
	return out, nil
}

// DisableAdmin disables an account and ends its sessions at once; the last
// enabled account of role admin is not disabled (ErrLastAdmin). The check
// is made in the store transaction that disables, so two concurrent
// disables of the last two admins, on one replica or two, cannot both
// pass.
func (s *Service) DisableAdmin(ctx context.Context, by Actor, username string) (store.Admin, error) {
	adm, err := s.Store.AdminByUsername(ctx, username)
	if err != nil {
		return adm, err
	}
	e, err := s.entry(by, "admin_disable", "admin:"+adm.Username, nil)
	if err != nil {
		return adm, err
	}
	out, err := s.Store.DisableAdminKeepingOne(ctx, adm.Username, s.Now(), e)
	if errors.Is(err, ErrLastAdmin) {
		return adm, ErrLastAdmin
	}
	return out, err
}

// EnableAdmin enables a disabled account again.
func (s *Service) EnableAdmin(ctx context.Context, by Actor, username string) (store.Admin, error) {
	e, err := s.entry(by, "admin_enable", "admin:"+username, nil)
	if err != nil {
		return store.Admin{}, err
	}
	if err := s.Store.EnableAdmin(ctx, username, e); err != nil {
		return store.Admin{}, err
	}
	return s.Store.AdminByUsername(ctx, username)
}
