package auth

import (
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: what every authenticator app supports (RFC 6238
// defaults): 30 s steps, HMAC-SHA1, 6 digits. A code of the step before or
// after the current one is accepted too, for clock drift.
const (
	TOTPPeriod = 30
	TOTPDigits = 6
	TOTPSkew   = 1
	// TOTPIssuer names vcguard in authenticator apps.
	TOTPIssuer = "vcguard"
)

// NewTOTPKey makes a new TOTP secret (160 random bits) for an account.
// Key.Secret() is the base32 secret to store, Key.URL() the otpauth:// URL
// to enrol an authenticator with (as text or QR code).
func NewTOTPKey(username string) (*otp.Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: TOTPIssuer, AccountName: username, Period: TOTPPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, SecretSize: 20})
	if err != nil {
		return nil, fmt.Errorf("new TOTP secret: %w", err)
	}
	return k, nil
}

// TOTPURL returns the otpauth:// URL of an existing base32 secret.
func TOTPURL(username, secret string) (string, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		return "", fmt.Errorf("TOTP secret is not base32: %w", err)
	}
	k, err := totp.Generate(totp.GenerateOpts{Issuer: TOTPIssuer, AccountName: username, Period: TOTPPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Secret: raw})
	if err != nil {
		return "", fmt.Errorf("TOTP URL: %w", err)
	}
	return k.URL(), nil
}

// TOTPCounter is the time step of t.
func TOTPCounter(t time.Time) int64 { return t.Unix() / TOTPPeriod }

// TOTPCode is the code of secret at t (for tests and tools).
func TOTPCode(secret string, t time.Time) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(TOTPCounter(t)), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// VerifyTOTP checks code against secret at now, accepting the steps within
// TOTPSkew of now that are later than lastCounter (the step last used to
// log in; a code is good once). It returns the step the code belongs to,
// which the caller must record (store.UseTOTPCounter) before trusting it.
func VerifyTOTP(code, secret string, now time.Time, lastCounter int64) (counter int64, ok bool) {
	if len(code) != TOTPDigits {
		return 0, false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	cur := TOTPCounter(now)
	for step := cur - TOTPSkew; step <= cur+TOTPSkew; step++ {
		if step <= lastCounter || step < 0 {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(code), []byte(want)) == 1 {
			return step, true
		}
	}
	return 0, false
}
