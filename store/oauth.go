package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// User is a person who signs in to the REST compatibility surface with a
// username and password (the OAuth password grant), acting for a company.
type User struct {
	// Username is the _id, kept in lower case: usernames are e-mail
	// addresses, compared without regard to case.
	Username     string `bson:"_id"`
	PasswordHash string `bson:"passwordHash"`
	CompanyID    string `bson:"companyId"`
	Name         string `bson:"name"`
	Disabled     bool   `bson:"disabled"`
	// DisabledAt is when the user was last disabled: tokens issued until
	// then stay dead after the user is enabled again.
	DisabledAt time.Time `bson:"disabledAt"`
}

// MaySignIn reports whether a token issued to the user at issuedAt is
// still good as far as the user goes: the user is enabled and was not
// disabled since.
func (u *User) MaySignIn(issuedAt time.Time) bool {
	return !u.Disabled && issuedAt.After(u.DisabledAt)
}

// OAuthClient is an application allowed to ask for tokens on behalf of the
// users of its company (the ServiceOps "API client").
type OAuthClient struct {
	ClientID   string `bson:"_id"`
	SecretHash string `bson:"secretHash"`
	CompanyID  string `bson:"companyId"`
	Revoked    bool   `bson:"revoked"`
}

// Token kinds.
const (
	AccessToken  = "access"
	RefreshToken = "refresh"
)

// Token is an access or refresh token as stored: under the hash of its
// value, so that the store never holds a usable token.
type Token struct {
	Hash      string    `bson:"_id"`
	Kind      string    `bson:"kind"`
	ClientID  string    `bson:"clientId"`
	Username  string    `bson:"username"`
	CompanyID string    `bson:"companyId"`
	Scope     string    `bson:"scope"`
	IssuedAt  time.Time `bson:"issuedAt"`
	ExpiresAt time.Time `bson:"expiresAt"`
	Revoked   bool      `bson:"revoked"`
}

// NormalizeUsername is the form a username is stored and looked up in.
func NormalizeUsername(username string) string {
	return strings.ToLower(strings.TrimSpace(username))
}

// PutUser creates the user, or updates its password hash, company and
// name if they differ; a user that matches already is not written. A
// disabled user stays disabled.
func (s *Store) PutUser(ctx context.Context, u User) error {
	u.Username = NormalizeUsername(u.Username)
	stored, err := s.FindUser(ctx, u.Username)
	switch {
	case err == nil && stored.PasswordHash == u.PasswordHash && stored.CompanyID == u.CompanyID && stored.Name == u.Name:
		return nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return wrap("put user", err)
	}
	return wrap("put user", s.insertOrUpdate(ctx, s.users, u, bson.M{"_id": u.Username},
		bson.M{"$set": bson.M{"passwordHash": u.PasswordHash, "companyId": u.CompanyID, "name": u.Name}}))
}

// FindUser loads a user by username, or ErrNotFound.
func (s *Store) FindUser(ctx context.Context, username string) (*User, error) {
	var u User
	if err := s.users.FindOne(ctx, bson.M{"_id": NormalizeUsername(username)}).Decode(&u); err != nil {
		return nil, wrap("find user", err)
	}
	return &u, nil
}

// SetUserDisabled disables or enables a user; ErrNotFound if there is none.
// Disabling records when (User.DisabledAt), so that enabling the user again
// does not bring back the tokens issued before.
func (s *Store) SetUserDisabled(ctx context.Context, username string, disabled bool) error {
	if !disabled {
		return s.setFlag(ctx, s.users, NormalizeUsername(username), "disabled", false, "enable user")
	}
	id := NormalizeUsername(username)
	defer s.locks.lock(s.users.Name(), id)()
	done := s.writeTurn()
	res, err := s.users.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"disabled": true, "disabledAt": time.Now()}})
	done()
	if err != nil {
		return wrap("disable user", err)
	}
	if res.MatchedCount == 0 {
		return wrap("disable user", mongo.ErrNoDocuments)
	}
	return nil
}

// PutOAuthClient makes the stored OAuth client match c (a seed entry): it
// is created if missing, and its secret and company are updated if they
// differ; a client that matches already is not written. A revoked client
// stays revoked.
func (s *Store) PutOAuthClient(ctx context.Context, c OAuthClient) error {
	stored, err := s.FindOAuthClient(ctx, c.ClientID)
	switch {
	case err == nil && stored.SecretHash == c.SecretHash && stored.CompanyID == c.CompanyID:
		return nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return wrap("put oauth client", err)
	}
	return wrap("put oauth client", s.insertOrUpdate(ctx, s.oauthClients, c, bson.M{"_id": c.ClientID},
		bson.M{"$set": bson.M{"secretHash": c.SecretHash, "companyId": c.CompanyID}}))
}

// InsertOAuthClient stores a new OAuth client; ErrDuplicate if the id is
// taken.
func (s *Store) InsertOAuthClient(ctx context.Context, c OAuthClient) error {
	_, err := s.oauthClients.InsertOne(ctx, c)
	return wrap("insert oauth client", err)
}

// FindOAuthClient loads an OAuth client by id, or ErrNotFound.
func (s *Store) FindOAuthClient(ctx context.Context, clientID string) (*OAuthClient, error) {
	var c OAuthClient
	if err := s.oauthClients.FindOne(ctx, bson.M{"_id": clientID}).Decode(&c); err != nil {
		return nil, wrap("find oauth client", err)
	}
	return &c, nil
}

// RevokeOAuthClient revokes an OAuth client: it gets no more tokens, and the
// tokens it has stop working; ErrNotFound if there is none.
func (s *Store) RevokeOAuthClient(ctx context.Context, clientID string) error {
	return s.setFlag(ctx, s.oauthClients, clientID, "revoked", true, "revoke oauth client")
}

// InsertToken stores a token.
func (s *Store) InsertToken(ctx context.Context, t Token) error {
	done := s.writeTurn()
	_, err := s.tokens.InsertOne(ctx, t)
	done()
	return wrap("insert token", err)
}

// FindToken loads a token by the hash of its value, or ErrNotFound.
func (s *Store) FindToken(ctx context.Context, hash string) (*Token, error) {
	var t Token
	if err := s.tokens.FindOne(ctx, bson.M{"_id": hash}).Decode(&t); err != nil {
		return nil, wrap("find token", err)
	}
	return &t, nil
}

// RevokeToken marks a token revoked and reports whether this call revoked
// it: of two concurrent revocations (say, two uses of one refresh token),
// exactly one gets true. ErrNotFound if there is no such token.
func (s *Store) RevokeToken(ctx context.Context, hash string) (bool, error) {
	defer s.locks.lock(s.tokens.Name(), hash)()
	t, err := s.FindToken(ctx, hash)
	if err != nil {
		return false, err
	}
	if t.Revoked {
		return false, nil
	}
	// On MongoDB the condition makes the revocation a compare-and-set
	// across gateways. FerretDB scans the collection for any filter but
	// exactly {_id}; there the lock above and the check make it one.
	filter := bson.M{"_id": hash, "revoked": false}
	if s.ferret {
		filter = bson.M{"_id": hash}
	}
	done := s.writeTurn()
	res, err := s.tokens.UpdateOne(ctx, filter, bson.M{"$set": bson.M{"revoked": true}})
	done()
	if err != nil {
		return false, wrap("revoke token", err)
	}
	return res.ModifiedCount == 1, nil
}

// ExpireTokens deletes tokens whose time is up. MongoDB's TTL index does the
// same on its own; the embedded store has no TTL indexes.
func (s *Store) ExpireTokens(ctx context.Context, now time.Time) (int64, error) {
	done := s.writeTurn()
	res, err := s.tokens.DeleteMany(ctx, bson.M{"expiresAt": bson.M{"$lt": now}})
	done()
	if err != nil {
		return 0, wrap("expire tokens", err)
	}
	return res.DeletedCount, nil
}

// setFlag sets one boolean field of the document with this _id.
func (s *Store) setFlag(ctx context.Context, coll *mongo.Collection, id, field string, v bool, what string) error {
	defer s.locks.lock(coll.Name(), id)()
	done := s.writeTurn()
	res, err := coll.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{field: v}})
	done()
	if err != nil {
		return wrap(what, err)
	}
	if res.MatchedCount == 0 {
		return wrap(what, mongo.ErrNoDocuments)
	}
	return nil
}
