package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
)

// DefaultRole is the role of a new account or token when none is chosen:
// the least privileged one. An auditor reads the audit log only; an
// analyst reads the whole fleet (devices, users, apps), which is more.
const DefaultRole = RoleAuditor

// DefaultInviteTTL is how long an invite link works unless
// Service.InviteTTL says otherwise.
const DefaultInviteTTL = 72 * time.Hour

// ErrInviteSpent refuses an invite link that was used, superseded or has
// expired.
var ErrInviteSpent = store.ErrInviteSpent

// ErrWrongCode refuses a TOTP code that does not match the authenticator
// being enrolled.
var ErrWrongCode = errors.New("the code does not match: check the authenticator app's clock and enter the current code")

// ErrNoPendingTOTP refuses to confirm a TOTP enrolment that was not
// started (or was replaced by a newer one).
var ErrNoPendingTOTP = store.ErrNoPendingTOTP

// Invite is a single-use, expiring link that sets an account up.
type Invite = store.Invite

// InvitePath is the dashboard path of an invite link.
func InvitePath(token string) string { return "/invite/" + token }

// Invitation is an account waiting to be set up, with the token of its
// one-time link (shown once; only its hash is stored).
type Invitation struct {
	Admin   store.Admin
	Token   string
	Expires time.Time
}

func (s *Service) inviteTTL() time.Duration {
	if s.InviteTTL > 0 {
		return s.InviteTTL
	}
	return DefaultInviteTTL
}

func (s *Service) newInvite(by Actor, username string) (store.Invite, string) {
	token, hash := auth.NewInviteToken()
	now := s.Now().UTC().Truncate(time.Microsecond)
	return store.Invite{ID: "inv_" + auth.NewID(), Hash: hash, Username: username, CreatedBy: by.Subject, Created: now,
		Expires: now.Add(s.inviteTTL())}, token
}

// InviteAdmin makes an account of role ("" is DefaultRole) without a
// password, and a one-time invite link with which its person chooses a
// password and enrols an authenticator app; it cannot log in before.
func (s *Service) InviteAdmin(ctx context.Context, by Actor, username string, role store.Role) (Invitation, error) {
	name, err := auth.NormalizeUsername(username)
	if err != nil {
		return Invitation{}, fmt.Errorf("%w: username %q: %w", ErrInvalid, username, err)
	}
	if role == "" {
		role = DefaultRole
	}
	if !validRole(role) {
		return Invitation{}, fmt.Errorf("%w: role %q: want admin, analyst or auditor", ErrInvalid, role)
	}
	key, err := auth.NewTOTPKey(name)
	if err != nil {
		return Invitation{}, err
	}
	inv, token := s.newInvite(by, name)
	adm := store.Admin{ID: "adm_" + auth.NewID(), Username: name, TOTPSecret: key.Secret(), Role: role, Created: inv.Created}
	e, err := s.entry(by, "admin_invite", "admin:"+name, map[string]any{"role": role, "invite": inv.ID, "expires": inv.Expires})
	if err != nil {
		return Invitation{}, err
	}
	if err := s.Store.CreateAdminInvite(ctx, adm, inv, e); err != nil {
		return Invitation{}, err
	}
	s.logger().Info("admin invited", "username", name, "role", role, "invite", inv.ID, "by", by.Subject)
	return Invitation{Admin: adm, Token: token, Expires: inv.Expires}, nil
}

// ReinviteAdmin sets another account up again: its password and
// authenticator are forgotten, its sessions end, earlier invites stop
// working, and a new invite link is returned once. An account resets its
// own credentials through ChangeOwnPassword and the TOTP reset instead.
func (s *Service) ReinviteAdmin(ctx context.Context, by Actor, username string) (Invitation, error) {
	adm, err := s.Store.AdminByUsername(ctx, username)
	if err != nil {
		return Invitation{}, err
	}
	if adm.Username == by.Subject {
		return Invitation{}, fmt.Errorf("%w: to change your own password or authenticator, use your account page", ErrInvalid)
	}
	key, err := auth.NewTOTPKey(adm.Username)
	if err != nil {
		return Invitation{}, err
	}
	inv, token := s.newInvite(by, adm.Username)
	e, err := s.entry(by, "admin_invite_reset", "admin:"+adm.Username, map[string]any{"invite": inv.ID, "expires": inv.Expires})
	if err != nil {
		return Invitation{}, err
	}
	if err := s.Store.ResetAdminInvite(ctx, inv, key.Secret(), e); err != nil {
		return Invitation{}, err
	}
	s.logger().Info("admin reset by invite", "username", adm.Username, "invite", inv.ID, "by", by.Subject)
	adm.PasswordHash, adm.TOTPSecret, adm.TOTPCounter = "", key.Secret(), 0
	return Invitation{Admin: adm, Token: token, Expires: inv.Expires}, nil
}

// OpenInvite is what the invite page shows: the account and the
// authenticator to enrol.
type OpenInvite struct {
	Invite store.Invite
	Admin  store.Admin
	// TOTPSecret and TOTPURL enrol the authenticator app.
	TOTPSecret, TOTPURL string
}

// Invite looks up the invite of a link by its token's hash: ErrNotFound
// for none, ErrInviteSpent for one used, superseded or expired.
func (s *Service) Invite(ctx context.Context, hash []byte) (OpenInvite, error) {
	inv, adm, err := s.Store.InviteByHash(ctx, hash)
	if err != nil {
		return OpenInvite{}, err
	}
	if !inv.Usable(s.Now()) || !adm.Pending() {
		return OpenInvite{Invite: inv}, ErrInviteSpent
	}
	url, err := auth.TOTPURL(adm.Username, adm.TOTPSecret)
	if err != nil {
		return OpenInvite{}, err
	}
	return OpenInvite{Invite: inv, Admin: adm, TOTPSecret: adm.TOTPSecret, TOTPURL: url}, nil
}

// InviteAnswer is what the person opening an invite link sends.
type InviteAnswer struct {
	Password, PasswordAgain, Code string
	// RemoteAddr is the client's address, for the audit log.
	RemoteAddr string
}

// RedeemInvite sets the account of an invite up: the password (by the
// password rules) and the authenticator (a current code of its secret)
// are checked, then the invite is used and the account can log in, with
// its audit entry, in one transaction. ErrInvalid for a password the rules
// refuse, ErrWrongCode for a wrong code (the invite stays usable),
// ErrInviteSpent or ErrNotFound for a link that cannot be used.
func (s *Service) RedeemInvite(ctx context.Context, hash []byte, a InviteAnswer) (store.Admin, error) {
	open, err := s.Invite(ctx, hash)
	if err != nil {
		return store.Admin{}, err
	}
	adm := open.Admin
	if err := auth.CheckNewPassword(a.Password, a.PasswordAgain, adm.Username); err != nil {
		return store.Admin{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	now := s.Now()
	counter, ok := auth.VerifyTOTP(a.Code, adm.TOTPSecret, now, adm.TOTPCounter)
	if !ok {
		return store.Admin{}, ErrWrongCode
	}
	hashed, err := s.passwordHash(a.Password)
	if err != nil {
		return store.Admin{}, err
	}
	e, err := s.entry(Actor{Subject: adm.Username, RemoteAddr: auth.RemoteHost(a.RemoteAddr)}, "invite_redeem", "admin:"+adm.Username,
		map[string]any{"invite": open.Invite.ID, "role": adm.Role})
	if err != nil {
		return store.Admin{}, err
	}
	out, err := s.Store.RedeemInvite(ctx, hash, now, hashed, counter, e)
	if err != nil {
		return store.Admin{}, err
	}
	s.logger().Info("admin set up by invite", "username", adm.Username, "invite", open.Invite.ID)
	return out, nil
}

// OpenInvites returns, per username, the newest invite not yet used (it
// may have expired).
func (s *Service) OpenInvites(ctx context.Context) (map[string]store.Invite, error) {
	return s.Store.OpenInvites(ctx)
}

// Reauth is a logged-in account proving again who it is before it changes
// its credentials: its current password and a current TOTP code.
type Reauth struct {
	Password, Code string
	// RemoteAddr is the client's address (http.Request.RemoteAddr).
	RemoteAddr string
}

// reauthenticate checks r for username through login, so that failures
// count toward the same lockouts as logins.
func (s *Service) reauthenticate(ctx context.Context, login *auth.Login, username string, r Reauth) error {
	if login == nil {
		return errors.New("re-authentication: no login checks")
	}
	_, err := login.Authenticate(ctx, auth.Attempt{Username: username, Password: r.Password, Code: r.Code, RemoteAddr: r.RemoteAddr, Reauth: true})
	return err
}

// ChangeOwnPassword changes the password of the account by acts as, after
// re-authentication through login (failures count as failed logins); the
// account's other sessions end (keep is the hash of the session making the
// change). Errors: those of auth.Login.Authenticate, ErrInvalid for a new
// password the rules refuse.
func (s *Service) ChangeOwnPassword(ctx context.Context, login *auth.Login, by Actor, keep []byte, r Reauth, newPassword, again string) error {
	if err := auth.CheckNewPassword(newPassword, again, by.Subject); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := s.reauthenticate(ctx, login, by.Subject, r); err != nil {
		return err
	}
	hashed, err := s.passwordHash(newPassword)
	if err != nil {
		return err
	}
	e, err := s.entry(by, "password_change", "admin:"+by.Subject, map[string]any{"other_sessions_ended": true})
	if err != nil {
		return err
	}
	if err := s.Store.ChangeAdminPassword(ctx, by.Subject, hashed, keep, e); err != nil {
		return err
	}
	s.logger().Info("admin changed own password", "username", by.Subject)
	return nil
}

// PendingTOTP is a new authenticator being enrolled.
type PendingTOTP struct {
	Secret, URL string
}

// StartTOTPReset, after re-authentication through login, makes a new TOTP
// secret for the account by acts as and keeps it pending: the current one
// works until ConfirmTOTPReset gets a code of the new one.
func (s *Service) StartTOTPReset(ctx context.Context, login *auth.Login, by Actor, r Reauth) (PendingTOTP, error) {
	if err := s.reauthenticate(ctx, login, by.Subject, r); err != nil {
		return PendingTOTP{}, err
	}
	key, err := auth.NewTOTPKey(by.Subject)
	if err != nil {
		return PendingTOTP{}, err
	}
	e, err := s.entry(by, "totp_reset_start", "admin:"+by.Subject, nil)
	if err != nil {
		return PendingTOTP{}, err
	}
	if err := s.Store.SetPendingTOTP(ctx, by.Subject, key.Secret(), e); err != nil {
		return PendingTOTP{}, err
	}
	return PendingTOTP{Secret: key.Secret(), URL: key.URL()}, nil
}

// PendingTOTPOf returns the enrolment StartTOTPReset began for username,
// ErrNoPendingTOTP if there is none.
func (s *Service) PendingTOTPOf(ctx context.Context, username string) (PendingTOTP, error) {
	adm, err := s.Store.AdminByUsername(ctx, username)
	if err != nil {
		return PendingTOTP{}, err
	}
	if adm.TOTPPending == "" {
		return PendingTOTP{}, ErrNoPendingTOTP
	}
	url, err := auth.TOTPURL(adm.Username, adm.TOTPPending)
	if err != nil {
		return PendingTOTP{}, err
	}
	return PendingTOTP{Secret: adm.TOTPPending, URL: url}, nil
}

// ConfirmTOTPReset makes the pending secret the account's once code is a
// current code of it; the account's other sessions end (keep is the hash
// of the session making the change). ErrWrongCode for a wrong code,
// ErrNoPendingTOTP when no enrolment was started.
func (s *Service) ConfirmTOTPReset(ctx context.Context, by Actor, keep []byte, code string) error {
	pending, err := s.PendingTOTPOf(ctx, by.Subject)
	if err != nil {
		return err
	}
	counter, ok := auth.VerifyTOTP(code, pending.Secret, s.Now(), -1)
	if !ok {
		return ErrWrongCode
	}
	e, err := s.entry(by, "totp_reset", "admin:"+by.Subject, map[string]any{"other_sessions_ended": true})
	if err != nil {
		return err
	}
	if err := s.Store.ConfirmPendingTOTP(ctx, by.Subject, pending.Secret, counter, keep, e); err != nil {
		return err
	}
	s.logger().Info("admin enrolled a new authenticator", "username", by.Subject)
	return nil
}
