package mongodb

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// PutUser creates the user, or updates its password hash, company, name,
// id and name parts if they differ; a user that matches already is not
// written. A disabled user stays disabled. The user is put with its
// defaults (store.User.WithDefaults); an id another user has is refused
// (store.UserIDTaken), by the unique userId index.
func (s *Store) PutUser(ctx context.Context, u store.User) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	u = u.WithDefaults()
	what := "put user " + u.Username
	for range putAttempts {
		stored, err := s.findUser(ctx, u.Username)
		switch {
		case err == nil && stored.PasswordHash == u.PasswordHash && stored.CompanyID == u.CompanyID && stored.Name == u.Name &&
			stored.ID == u.ID && stored.GivenName == u.GivenName && stored.Surname == u.Surname:
			return nil
		case err == nil:
			_, err = s.users.UpdateOne(ctx, bson.M{"_id": u.Username}, bson.M{"$set": bson.M{
				"passwordHash": u.PasswordHash, "companyId": u.CompanyID, "name": u.Name,
				"userId": u.ID, "givenName": u.GivenName, "surname": u.Surname}})
			if err != nil && s.idHeldByAnother(ctx, u) {
				return store.Wrap(what, store.UserIDTaken(u.ID))
			}
			return wrap(what, err)
		case !errors.Is(err, store.ErrNotFound):
			return store.Wrap(what, err)
		}
		_, err = s.users.InsertOne(ctx, u)
		switch {
		case err == nil:
			return nil
		case s.idHeldByAnother(ctx, u):
			return store.Wrap(what, store.UserIDTaken(u.ID))
		case !mongo.IsDuplicateKeyError(err):
			return wrap(what, err)
		}
		// Created meanwhile by another gateway: compare with that one.
	}
	return errors.New(what + ": the user kept changing")
}

// idHeldByAnother reports whether a user of another username has u's id:
// what a failed write of u met. It asks rather than reads the error, as
// FerretDB answers a unique index's violation by an update with an
// internal error, not a duplicate key.
func (s *Store) idHeldByAnother(ctx context.Context, u store.User) bool {
	holder, err := s.findUserByID(ctx, u.ID)
	return err == nil && holder.Username != u.Username
}

// FindUser loads a user by username (normalized), or ErrNotFound.
func (s *Store) FindUser(ctx context.Context, username string) (*store.User, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	return s.findUser(ctx, store.NormalizeUsername(username))
}

func (s *Store) findUser(ctx context.Context, username string) (*store.User, error) {
	var u store.User
	if err := s.users.FindOne(ctx, bson.M{"_id": username}).Decode(&u); err != nil {
		return nil, wrap("find user", err)
	}
	u = u.WithDefaults()
	return &u, nil
}

// FindUserByID loads the user of a user id (store.User.ID), through the
// userId index, or ErrNotFound.
func (s *Store) FindUserByID(ctx context.Context, id string) (*store.User, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	return s.findUserByID(ctx, id)
}

func (s *Store) findUserByID(ctx context.Context, id string) (*store.User, error) {
	var u store.User
	if err := s.users.FindOne(ctx, bson.M{"userId": id}, options.FindOne().SetHint(idxUserID)).Decode(&u); err != nil {
		return nil, wrap("find user by id", err)
	}
	u = u.WithDefaults()
	return &u, nil
}

// backfillUserIDs gives the users that have no userId (written by a
// gateway from before users had ids) their default one, the username, so
// that FindUserByID finds them. It reads the users on the _id index (a
// user without the field is not in the sparse userId index); a user whose
// username another user holds as its id already is left as it is.
func (s *Store) backfillUserIDs(ctx context.Context) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	missing := bson.M{"userId": bson.M{"$exists": false}}
	cur, err := s.users.Find(ctx, missing, options.Find().SetHint(idxID).SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return wrap("find the users without ids", err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return wrap("find the users without ids", err)
	}
	for _, d := range docs {
		_, err := s.users.UpdateOne(ctx, bson.M{"_id": d.ID, "userId": bson.M{"$exists": false}}, bson.M{"$set": bson.M{"userId": d.ID}})
		if err != nil && !mongo.IsDuplicateKeyError(err) && !s.idHeldByAnother(ctx, store.User{Username: d.ID, ID: d.ID}) {
			return wrap("give user "+d.ID+" its id", err)
		}
	}
	return nil
}

// SetUserDisabled disables or enables a user; ErrNotFound if there is none.
// Disabling records when (User.DisabledAt), so that enabling the user again
// does not bring back the tokens issued before.
func (s *Store) SetUserDisabled(ctx context.Context, username string, disabled bool) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	set := bson.M{"disabled": false}
	what := "enable user"
	if disabled {
		set = bson.M{"disabled": true, "disabledAt": time.Now()}
		what = "disable user"
	}
	return s.updateExisting(ctx, s.users, store.NormalizeUsername(username), set, what)
}

// PutOAuthClient makes the stored OAuth client match c (a seed entry): it
// is created if missing, and its secret and company are updated if they
// differ; a client that matches already is not written. A revoked client
// stays revoked.
func (s *Store) PutOAuthClient(ctx context.Context, c store.OAuthClient) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	for range putAttempts {
		stored, err := s.findOAuthClient(ctx, c.ClientID)
		switch {
		case err == nil && stored.SecretHash == c.SecretHash && stored.CompanyID == c.CompanyID:
			return nil
		case err == nil:
			_, err = s.oauthClients.UpdateOne(ctx, bson.M{"_id": c.ClientID},
				bson.M{"$set": bson.M{"secretHash": c.SecretHash, "companyId": c.CompanyID}})
			return wrap("put oauth client", err)
		case !errors.Is(err, store.ErrNotFound):
			return store.Wrap("put oauth client", err)
		}
		_, err = s.oauthClients.InsertOne(ctx, c)
		if !mongo.IsDuplicateKeyError(err) {
			return wrap("put oauth client", err)
		}
	}
	return errors.New("put oauth client: the client kept changing")
}

// InsertOAuthClient stores a new OAuth client; ErrDuplicate if the id is
// taken.
func (s *Store) InsertOAuthClient(ctx context.Context, c store.OAuthClient) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	_, err := s.oauthClients.InsertOne(ctx, c)
	return wrap("insert oauth client", err)
}

// FindOAuthClient loads an OAuth client by id, or ErrNotFound.
func (s *Store) FindOAuthClient(ctx context.Context, clientID string) (*store.OAuthClient, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	return s.findOAuthClient(ctx, clientID)
}

func (s *Store) findOAuthClient(ctx context.Context, clientID string) (*store.OAuthClient, error) {
	var c store.OAuthClient
	if err := s.oauthClients.FindOne(ctx, bson.M{"_id": clientID}).Decode(&c); err != nil {
		return nil, wrap("find oauth client", err)
	}
	return &c, nil
}

// RevokeOAuthClient revokes an OAuth client: it gets no more tokens, and
// the tokens it has stop working; ErrNotFound if there is none.
func (s *Store) RevokeOAuthClient(ctx context.Context, clientID string) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	return s.updateExisting(ctx, s.oauthClients, clientID, bson.M{"revoked": true}, "revoke oauth client")
}

// InsertToken stores a token; ErrDuplicate if its hash is taken.
func (s *Store) InsertToken(ctx context.Context, t store.Token) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	_, err := s.tokens.InsertOne(ctx, t)
	return wrap("insert token", err)
}

// FindToken loads a token by the hash of its value, or ErrNotFound.
func (s *Store) FindToken(ctx context.Context, hash string) (*store.Token, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var t store.Token
	if err := s.tokens.FindOne(ctx, bson.M{"_id": hash}).Decode(&t); err != nil {
		return nil, wrap("find token", err)
	}
	return &t, nil
}

// RevokeToken marks a token revoked and reports whether this call revoked
// it: of concurrent revocations (two uses of one refresh token) exactly one
// gets true, as the condition is the update's filter, checked by the
// server. False if it was revoked already, ErrNotFound if there is no such
// token.
func (s *Store) RevokeToken(ctx context.Context, hash string) (bool, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	res, err := s.tokens.UpdateOne(ctx, bson.M{"_id": hash, "revoked": false}, bson.M{"$set": bson.M{"revoked": true}})
	if err != nil {
		return false, wrap("revoke token", err)
	}
	if res.MatchedCount == 1 {
		return true, nil
	}
	err = s.tokens.FindOne(ctx, bson.M{"_id": hash}).Err()
	return false, wrap("revoke token", err)
}

// ExpireTokens deletes the tokens that expired before now and reports how
// many. MongoDB's TTL monitor deletes them too; this is for a server whose
// monitor lags or that has none.
func (s *Store) ExpireTokens(ctx context.Context, now time.Time) (int64, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	n, err := s.expire(ctx, s.tokens, now)
	return n, wrap("expire tokens", err)
}

// updateExisting sets fields of the document with this _id; ErrNotFound if
// there is none.
func (s *Store) updateExisting(ctx context.Context, coll *mongo.Collection, id string, set bson.M, what string) error {
	res, err := coll.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": set})
	if err != nil {
		return wrap(what, err)
	}
	if res.MatchedCount == 0 {
		return wrap(what, mongo.ErrNoDocuments)
	}
	return nil
}
