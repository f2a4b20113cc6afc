package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// InvitePrefix starts every invite token, so that one is recognised when
// it turns up somewhere it should not be.
const InvitePrefix = "vcgi_"

// inviteTokenBytes is the randomness of an invite token: 256 bits.
const inviteTokenBytes = 32

// inviteTokenLen is the length of an invite token as text.
var inviteTokenLen = len(InvitePrefix) + base64.RawURLEncoding.EncodedLen(inviteTokenBytes)

// ErrMalformedInvite is returned for text that cannot be an invite token.
var ErrMalformedInvite = errors.New("not an invite link: check that the whole link was copied")

// NewInviteToken returns a new invite token (256 bits from crypto/rand)
// and the hash to store.
func NewInviteToken() (token string, hash []byte) {
	var b [inviteTokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	token = InvitePrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, Hash(token)
}

// ParseInviteToken checks text from an invite link (untrusted: it comes
// from the URL path) and returns the hash to look it up by. It accepts
// exactly what NewInviteToken makes.
func ParseInviteToken(s string) ([]byte, error) {
	if len(s) != inviteTokenLen || !strings.HasPrefix(s, InvitePrefix) {
		return nil, ErrMalformedInvite
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s[len(InvitePrefix):])
	if err != nil || len(raw) != inviteTokenBytes {
		return nil, ErrMalformedInvite
	}
	return Hash(s), nil
}

// CheckNewPassword applies the password rules to a password a person
// chooses: MinPasswordLen to MaxPasswordLen bytes of valid UTF-8, not the
// username, and typed the same twice.
func CheckNewPassword(pw, again, username string) error {
	switch {
	case pw != again:
		return errors.New("the two passwords differ")
	case !utf8.ValidString(pw):
		return errors.New("the password is not valid text")
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return fmt.Errorf("a password has at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fmt.Errorf("a password has at most %d bytes", MaxPasswordLen)
	case strings.EqualFold(strings.TrimSpace(pw), username):
		return errors.New("the password must not be the username")
	}
	return nil
}
