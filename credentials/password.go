package credentials

import (
	"errors"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLen is the shortest password accepted for a user of the REST
// compatibility surface.
const MinPasswordLen = 8

// DefaultPasswordCost is bcrypt's work factor in production: slow enough
// that guessing is slow, quick enough that a sign-in is still quick.
const DefaultPasswordCost = 11

// MinPasswordCost is the cheapest cost bcrypt accepts; tests use it, so
// that a password check does not dominate their time.
const MinPasswordCost = bcrypt.MinCost

// Passwords hashes and checks users' passwords at one bcrypt cost. Unlike
// API secrets, passwords are chosen by people and may be guessable, so they
// get a slow, salted hash. The zero value uses DefaultPasswordCost.
type Passwords struct {
	// Cost is bcrypt's work factor; zero means DefaultPasswordCost.
	Cost int
}

func (p Passwords) cost() int {
	if p.Cost == 0 {
		return DefaultPasswordCost
	}
	return p.Cost
}

// Hash returns the bcrypt hash a user's password is stored as.
func (p Passwords) Hash(password string) (string, error) {
	if len(password) > 72 {
		return "", errors.New("password is longer than 72 bytes, bcrypt's limit")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), p.cost())
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// dummyPasswordHashes holds, per cost, the hash checked when a user is unknown, so
// that an unknown username and a wrong password take the same time. They
// are made on first use, not when the package loads: every command and test
// binary imports this package, and a bcrypt hash costs real CPU.
var dummyPasswordHashes sync.Map // cost -> func() []byte

func dummyPasswordHash(cost int) []byte {
	f, _ := dummyPasswordHashes.LoadOrStore(cost, sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte("no such user"), cost)
		return h
	}))
	return f.(func() []byte)()
}

// Verify reports whether password matches storedHash. An empty storedHash
// (unknown user) is checked against a dummy of the same cost and never
// matches.
func (p Passwords) Verify(storedHash, password string) bool {
	if storedHash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyPasswordHash(p.cost()), []byte(password))
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
