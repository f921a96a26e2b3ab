package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Company is a tenant: every incident, client and sequence belongs to one.
type Company struct {
	ID   string `bson:"_id" json:"id"`
	Name string `bson:"name" json:"name"`
}

// Network is a process network: the companies that work on processes
// together.
type Network struct {
	ID      string   `bson:"_id" json:"id"`
	Members []string `bson:"members" json:"members"`
	// Position orders networks as the seed lists them: a company's default
	// network is the first one that lists it.
	Position int `bson:"position" json:"-"`
}

// Client is an API client: an apiKey and the hash of its apiSecret, acting
// for one company as one user.
type Client struct {
	APIKey     string `bson:"_id"`
	SecretHash string `bson:"secretHash"`
	CompanyID  string `bson:"companyId"`
	UserID     string `bson:"userId"`
	CreatedAt  int64  `bson:"createdAt"`
	// RevokedAt is the epoch millisecond of revocation; 0 while active.
	RevokedAt int64 `bson:"revokedAt"`
	// LicensePlate is the plate of the request that created the client, if
	// an event did.
	LicensePlate string `bson:"licensePlate,omitempty"`
	// MintedBy is the apiKey of the client that minted this one, if an
	// event did: revoking that client revokes this one too.
	MintedBy string `bson:"mintedBy,omitempty"`
}

// Active reports whether the client may still authenticate.
func (c *Client) Active() bool { return c.RevokedAt == 0 }

// PutCompany creates the company or updates its name; a company stored as
// c already is not written.
func (s *Store) PutCompany(ctx context.Context, c Company) error {
	var stored Company
	err := s.companies.FindOne(ctx, bson.M{"_id": c.ID}).Decode(&stored)
	if err == nil && stored == c {
		return nil
	}
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return wrap("put company", err)
	}
	_, err = s.companies.ReplaceOne(ctx, bson.M{"_id": c.ID}, c, options.Replace().SetUpsert(true))
	return wrap("put company", err)
}

// EnsureCompany creates the company, named after its id, if it is missing.
func (s *Store) EnsureCompany(ctx context.Context, id string) error {
	return wrap("ensure company", s.insertOrUpdate(ctx, s.companies, Company{ID: id, Name: id}, nil, nil))
}

// PutNetwork creates the network or replaces its member list and
// position; a network stored as n already is not written.
func (s *Store) PutNetwork(ctx context.Context, n Network) error {
	var stored Network
	err := s.networks.FindOne(ctx, bson.M{"_id": n.ID}).Decode(&stored)
	if err == nil && stored.Position == n.Position && slices.Equal(stored.Members, n.Members) {
		return nil
	}
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return wrap("put network", err)
	}
	_, err = s.networks.ReplaceOne(ctx, bson.M{"_id": n.ID}, n, options.Replace().SetUpsert(true))
	return wrap("put network", err)
}

// Networks lists every network.
func (s *Store) Networks(ctx context.Context) ([]Network, error) {
	var out []Network
	return out, s.findAll(ctx, s.networks, &out)
}

// Clients lists every API client, revoked ones included.
func (s *Store) Clients(ctx context.Context) ([]Client, error) {
	var out []Client
	return out, s.findAll(ctx, s.clients, &out)
}

// CountClients counts the API clients, revoked ones included.
func (s *Store) CountClients(ctx context.Context) (int64, error) {
	n, err := s.clients.CountDocuments(ctx, bson.M{})
	return n, wrap("count clients", err)
}

// FindClient returns the client with this apiKey, or ErrNotFound.
func (s *Store) FindClient(ctx context.Context, apiKey string) (*Client, error) {
	var c Client
	err := s.clients.FindOne(ctx, bson.M{"_id": apiKey}).Decode(&c)
	if err != nil {
		return nil, wrap("find client", err)
	}
	return &c, nil
}

// InsertClient stores a new client; ErrDuplicate if the apiKey is taken.
func (s *Store) InsertClient(ctx context.Context, c Client) error {
	if c.CreatedAt == 0 {
		c.CreatedAt = time.Now().UnixMilli()
	}
	if _, err := s.clients.InsertOne(ctx, c); err != nil {
		return wrap("insert client", err)
	}
	return s.clientsChanged(ctx)
}

// clientsRevisionKey is the counter of client changes among the sequences;
// sequence keys have three parts, so it cannot collide with one.
var clientsRevisionKey = `["clients-revision"]`

// clientsChanged counts a change of the clients (ClientsRevision).
func (s *Store) clientsChanged(ctx context.Context) error {
	_, err := s.reserveSequence(ctx, clientsRevisionKey, 1)
	return err
}

// ClientsRevision counts the clients' creations and revocations by
// InsertClient and RevokeClient, so that a gateway learns of a change by
// reading one document instead of every client.
func (s *Store) ClientsRevision(ctx context.Context) (int64, error) {
	var doc struct {
		Seq int64 `bson:"seq"`
	}
	err := s.sequences.FindOne(ctx, bson.M{"_id": clientsRevisionKey}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	return doc.Seq, wrap("clients revision", err)
}

// PutClient makes the stored client match c (a seed entry): it is created if
// missing, and its secret, company and user are updated if they differ; a
// client that matches already is not written. CreatedAt and a revocation
// are kept: re-applying a seed never brings a revoked key back.
func (s *Store) PutClient(ctx context.Context, c Client) error {
	stored, err := s.FindClient(ctx, c.APIKey)
	switch {
	case err == nil && stored.SecretHash == c.SecretHash && stored.CompanyID == c.CompanyID && stored.UserID == c.UserID:
		return nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return wrap("put client", err)
	}
	c.CreatedAt, c.RevokedAt = time.Now().UnixMilli(), 0
	return wrap("put client", s.insertOrUpdate(ctx, s.clients, c, bson.M{"_id": c.APIKey},
		bson.M{"$set": bson.M{"secretHash": c.SecretHash, "companyId": c.CompanyID, "userId": c.UserID}}))
}

// RevokeClient marks the client revoked, and with it every client it
// minted, and theirs; ErrNotFound if there is none.
func (s *Store) RevokeClient(ctx context.Context, apiKey string) error {
	if err := s.revokeOneClient(ctx, apiKey); err != nil {
		return err
	}
	// The clients minted by the revoked ones, breadth first. Revoked
	// clients are revoked again (it changes nothing), so a client minted
	// while this runs is caught as well.
	seen := map[string]bool{apiKey: true}
	for queue := []string{apiKey}; len(queue) > 0; queue = queue[1:] {
		var minted []Client
		cur, err := s.clients.Find(ctx, bson.M{"mintedBy": queue[0]})
		if err == nil {
			err = cur.All(ctx, &minted)
		}
		if err != nil {
			return wrap("find minted clients", err)
		}
		for _, c := range minted {
			if seen[c.APIKey] {
				continue
			}
			seen[c.APIKey] = true
			if err := s.revokeOneClient(ctx, c.APIKey); err != nil {
				return err
			}
			queue = append(queue, c.APIKey)
		}
	}
	return s.clientsChanged(ctx)
}

func (s *Store) revokeOneClient(ctx context.Context, apiKey string) error {
	defer s.locks.lock(s.clients.Name(), apiKey)()
	res, err := s.clients.UpdateOne(ctx, bson.M{"_id": apiKey, "revokedAt": int64(0)},
		bson.M{"$set": bson.M{"revokedAt": time.Now().UnixMilli()}})
	if err != nil {
		return wrap("revoke client", err)
	}
	if res.MatchedCount == 0 {
		if _, err := s.FindClient(ctx, apiKey); err != nil {
			return err
		}
		// Already revoked: revoking is idempotent.
	}
	return nil
}

// insertOrUpdate inserts doc, or, if a document with its _id exists, applies
// update to the one filter selects (nothing if update is nil). It stands in
// for an upsert with $setOnInsert, which the embedded store (FerretDB v1.24)
// also applies when the document already exists.
func (s *Store) insertOrUpdate(ctx context.Context, coll *mongo.Collection, doc any, filter, update bson.M) error {
	defer s.locks.lock(coll.Name(), fmt.Sprint(filter["_id"]))()
	_, err := coll.InsertOne(ctx, doc)
	if err == nil || !mongo.IsDuplicateKeyError(err) {
		return err
	}
	if update == nil {
		return nil
	}
	_, err = coll.UpdateOne(ctx, filter, update)
	return err
}

func (s *Store) findAll(ctx context.Context, coll *mongo.Collection, out any) error {
	cur, err := coll.Find(ctx, bson.M{})
	if err != nil {
		return wrap("list "+coll.Name(), err)
	}
	return wrap("list "+coll.Name(), cur.All(ctx, out))
}

// wrap maps driver errors onto the package's sentinel errors and adds
// context.
func wrap(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("%s: %w: %w", what, ErrDuplicate, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
