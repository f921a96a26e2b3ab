// Package credentials mints API client credentials and checks presented
// secrets against their stored hashes. It owns the one rule for how a secret
// is kept (never in clear) and compared (in constant time), and knows nothing
// of stores or HTTP.
package credentials

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// MinSecretLen is the shortest apiSecret accepted from a seed file or the
// CLI. Minted secrets are much longer.
const MinSecretLen = 16

// APIKeyPrefix starts every minted apiKey, so that a key found in a log or a
// config file can be recognised.
const APIKeyPrefix = "scwm_"

// NewAPIKey returns a fresh, random, URL-safe apiKey.
func NewAPIKey() string {
	return APIKeyPrefix + randomToken(15)
}

// NewSecret returns a fresh apiSecret with 256 bits of entropy.
func NewSecret() string {
	return randomToken(32)
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret returns the form in which a secret is stored: "sha256:" and the
// hex SHA-256 of the secret. A fast hash is right here because API secrets
// are long random strings, not passwords a person chose: there is nothing to
// guess, and authentication stays cheap on the hot path.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// dummyHash is compared against when the apiKey is unknown, so that unknown
// keys and wrong secrets take the same time.
var dummyHash = HashSecret("no such client")

// Verify reports whether secret matches storedHash, in time that does not
// depend on where the two differ. An empty storedHash (unknown client) is
// checked against a dummy and never matches.
func Verify(storedHash, secret string) bool {
	known := storedHash != ""
	if !known {
		storedHash = dummyHash
	}
	want, ok := strings.CutPrefix(storedHash, "sha256:")
	if !ok {
		return false
	}
	wantBytes, err := hex.DecodeString(want)
	if err != nil || len(wantBytes) != sha256.Size {
		return false
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], wantBytes) == 1 && known
}
