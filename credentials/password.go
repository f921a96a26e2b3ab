package credentials

import (
	"errors"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLen is the shortest password accepted for a user of the REST
// compatibility surface.
const MinPasswordLen = 8

// passwordCost is bcrypt's work factor: about 50 ms per check on a current
// core, which makes guessing slow and a sign-in still quick.
const passwordCost = 11

// HashPassword returns the bcrypt hash a user's password is stored as.
// Unlike API secrets, passwords are chosen by people and may be guessable,
// so they get a slow, salted hash.
func HashPassword(password string) (string, error) {
	if len(password) > 72 {
		return "", errors.New("password is longer than 72 bytes, bcrypt's limit")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), passwordCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// dummyPasswordHash is checked when the user is unknown, so that an unknown
// username and a wrong password take the same time. It is made on first
// use, not when the package loads: every command and test binary imports
// this package, and a bcrypt hash costs about 0.1 s of CPU.
var dummyPasswordHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("no such user"), passwordCost)
	return h
})

// VerifyPassword reports whether password matches storedHash. An empty
// storedHash (unknown user) is checked against a dummy and never matches.
func VerifyPassword(storedHash, password string) bool {
	if storedHash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyPasswordHash(), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(storedHash), []byte(password)) == nil
}

// NewOAuthClientID returns a fresh OAuth client id.
func NewOAuthClientID() string {
	return "scwm-client-" + randomToken(12)
}

// NewToken returns a fresh bearer or refresh token, 256 random bits.
func NewToken() string {
	return randomToken(32)
}
