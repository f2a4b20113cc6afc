package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters of a password hash.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultArgon2 is what HashPassword uses: 64 MiB, 3 passes, 2 lanes
// (RFC 9106's second recommendation with 2 lanes instead of 4). It costs
// about three times OWASP's floor (19 MiB, t=2, p=1) in memory-time; admins
// log in a few times a day, so ~100 ms a login is cheap, while an offline
// guess costs the same. Login checks a bounded number of hashes at once
// (see Login) so that the memory cannot be used to exhaust the server.
var DefaultArgon2 = Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 2}

const (
	saltLen = 16
	keyLen  = 32
	// MaxPasswordLen bounds a password in bytes (argon2 hashes any length,
	// but nobody types more).
	MaxPasswordLen = 1024
	// MinPasswordLen is the shortest password accepted for a new account.
	MinPasswordLen = 12
)

// ErrMalformedHash is returned for a stored hash that is not an argon2id
// PHC string this package can check.
var ErrMalformedHash = errors.New("malformed argon2id password hash")

var b64 = base64.RawStdEncoding

// HashPassword hashes pw with argon2id and DefaultArgon2, as a PHC string
// "$argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>".
func HashPassword(pw string) (string, error) {
	return HashPasswordWith(pw, DefaultArgon2)
}

// HashPasswordWith hashes with given parameters (tests use cheap ones).
func HashPasswordWith(pw string, p Argon2Params) (string, error) {
	if len(pw) > MaxPasswordLen {
		return "", fmt.Errorf("password longer than %d bytes", MaxPasswordLen)
	}
	if p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 {
		return "", fmt.Errorf("argon2id parameters %+v: want memory ≥ 8×threads KiB, time ≥ 1, threads ≥ 1", p)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Limits on what a stored hash may ask for, so that a corrupt or hostile
// row cannot make a login allocate gigabytes or spin for minutes.
const (
	maxArgon2Memory  = 1 << 20 // KiB: 1 GiB
	maxArgon2Time    = 64
	maxArgon2Threads = 64
)

// parsePHC reads an argon2id PHC string.
func parsePHC(phc string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, ErrMalformedHash
	}
	var seen [3]bool
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, perr := strconv.ParseUint(v, 10, 32)
		if !ok || perr != nil || (len(v) > 1 && v[0] == '0') {
			return p, nil, nil, ErrMalformedHash
		}
		switch {
		case k == "m" && !seen[0] && n <= maxArgon2Memory:
			p.Memory, seen[0] = uint32(n), true
		case k == "t" && !seen[1] && n >= 1 && n <= maxArgon2Time:
			p.Time, seen[1] = uint32(n), true
		case k == "p" && !seen[2] && n >= 1 && n <= maxArgon2Threads:
			p.Threads, seen[2] = uint8(n), true
		default:
			return p, nil, nil, ErrMalformedHash
		}
	}
	if !seen[0] || !seen[1] || !seen[2] || p.Memory < 8*uint32(p.Threads) {
		return p, nil, nil, ErrMalformedHash
	}
	if salt, err = b64.Strict().DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, ErrMalformedHash
	}
	if key, err = b64.Strict().DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, ErrMalformedHash
	}
	return p, salt, key, nil
}

// VerifyPassword reports whether pw matches the PHC string phc, comparing
// in constant time. The parameters come from phc, so hashes made with older
// parameters keep working. An error means phc is malformed.
func VerifyPassword(pw, phc string) (bool, error) {
	p, salt, key, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	if len(pw) > MaxPasswordLen {
		return false, nil
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NewPassword returns a random password for a new account or a reset:
// 24 characters of base64url, 144 bits.
func NewPassword() string {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
