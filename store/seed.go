package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/scwm-gateway/scwm-gateway/credentials"
)

// Seed is the content of a seed file (serve --seed FILE): the companies,
// networks and API clients a deployment starts with. Applying it is
// idempotent, so it runs at every start.
type Seed struct {
	Companies []Company    `json:"companies"`
	Networks  []Network    `json:"networks"`
	Clients   []SeedClient `json:"clients"`
	// Users and OAuthClients serve the REST compatibility surface
	// (passwords stored as bcrypt hashes, client secrets as SHA-256).
	Users        []SeedUser        `json:"users"`
	OAuthClients []SeedOAuthClient `json:"oauthClients"`
}

// SeedClient is an API client as a seed file lists it, secret in clear.
type SeedClient struct {
	APIKey    string `json:"apiKey"`
	APISecret string `json:"apiSecret"`
	CompanyID string `json:"companyId"`
	UserID    string `json:"userId"`
}

// SeedUser is a user of the REST compatibility surface, and of the user
// ids that process objects name.
type SeedUser struct {
	Username string `json:"username"`
	// ID is the user id objects name; empty is the username, normalized
	// (UserID).
	ID        string `json:"id,omitempty"`
	Password  string `json:"password"`
	CompanyID string `json:"companyId"`
	Name      string `json:"name"`
	// GivenName and Surname default to Name split at its first space
	// when neither is given (User.WithDefaults).
	GivenName string `json:"givenName,omitempty"`
	Surname   string `json:"surname,omitempty"`
}

// User is the user the entry makes, defaults applied, with passwordHash as
// its hash.
func (u SeedUser) User(passwordHash string) User {
	return User{Username: u.Username, ID: u.ID, PasswordHash: passwordHash, CompanyID: u.CompanyID,
		Name: u.Name, GivenName: u.GivenName, Surname: u.Surname}.WithDefaults()
}

// UserID is the id the entry's user gets: its id, or its username.
func (u SeedUser) UserID() string { return u.User("").ID }

// SeedOAuthClient is an OAuth client of the REST compatibility surface.
type SeedOAuthClient struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	CompanyID    string `json:"companyId"`
}

// SeedTarget is a store a seed can be applied to. Each Put makes the stored
// record match the one given, creating it if it is missing, and writes
// nothing if it matches already; see the stores for what a Put keeps (a
// revocation, a disabled user).
type SeedTarget interface {
	PutCompany(ctx context.Context, c Company) error
	PutNetwork(ctx context.Context, n Network) error
	PutClient(ctx context.Context, c Client) error
	FindUser(ctx context.Context, username string) (*User, error)
	PutUser(ctx context.Context, u User) error
	PutOAuthClient(ctx context.Context, c OAuthClient) error
}

// ApplySeed makes st hold everything the seed lists: companies and
// networks are created or updated, clients created or updated (a revoked
// client stays revoked), users (with their ids and names, SeedUser.User)
// and OAuth clients created or updated (a disabled user or revoked OAuth
// client stays so). Nothing the seed does not
// list is touched, and an entry stored as the seed lists it already is not
// written: a seed applied again at a restart writes nothing, so a start
// needs no free disk space for it. A user keeps the stored password hash
// while it still matches the seed's password; new ones are hashed by
// passwords.
func ApplySeed(ctx context.Context, st SeedTarget, passwords credentials.Passwords, seed *Seed) error {
	for _, c := range seed.Companies {
		if err := st.PutCompany(ctx, c); err != nil {
			return err
		}
	}
	for i, n := range seed.Networks {
		n.Position = i
		if err := st.PutNetwork(ctx, n); err != nil {
			return err
		}
	}
	for _, c := range seed.Clients {
		err := st.PutClient(ctx, Client{
			APIKey:     c.APIKey,
			SecretHash: credentials.HashSecret(c.APISecret),
			CompanyID:  c.CompanyID,
			UserID:     c.UserID,
		})
		if err != nil {
			return err
		}
	}
	for _, u := range seed.Users {
		hash, err := seedPasswordHash(ctx, st, passwords, u)
		if err != nil {
			return fmt.Errorf("seed user %s: %w", u.Username, err)
		}
		if err := st.PutUser(ctx, u.User(hash)); err != nil {
			return err
		}
	}
	for _, o := range seed.OAuthClients {
		if err := st.PutOAuthClient(ctx, OAuthClient{ClientID: o.ClientID, SecretHash: credentials.HashSecret(o.ClientSecret), CompanyID: o.CompanyID}); err != nil {
			return err
		}
	}
	return nil
}

// seedPasswordHash is the hash to store for a seeded user: the stored one
// if it still matches the seed's password (bcrypt salts every hash, so a
// new one would differ and be written), a new one otherwise.
func seedPasswordHash(ctx context.Context, st SeedTarget, passwords credentials.Passwords, u SeedUser) (string, error) {
	stored, err := st.FindUser(ctx, u.Username)
	switch {
	case err == nil && passwords.Verify(stored.PasswordHash, u.Password):
		return stored.PasswordHash, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return "", err
	}
	return passwords.Hash(u.Password)
}
