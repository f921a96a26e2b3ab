package mongodb

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// putAttempts bounds how often a create-or-update starts over when another
// gateway created or changed the same document between its read and its
// write.
const putAttempts = 5

// PutCompany creates the company or replaces its name and master data; a
// company stored as c already is not written.
func (s *Store) PutCompany(ctx context.Context, c store.Company) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var stored store.Company
	err := s.companies.FindOne(ctx, bson.M{"_id": c.ID}).Decode(&stored)
	switch {
	case err == nil && sameDocument(stored, c):
		return nil
	case err != nil && !errors.Is(err, mongo.ErrNoDocuments):
		return wrap("put company", err)
	}
	_, err = s.companies.ReplaceOne(ctx, bson.M{"_id": c.ID}, c, options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		// Two gateways created it at once; the first one's write stands
		// and this one's is the same.
		_, err = s.companies.ReplaceOne(ctx, bson.M{"_id": c.ID}, c)
	}
	return wrap("put company", err)
}

// sameDocument reports whether a and b are stored as the same document:
// what the encoding leaves out (an empty list of the master data, say) is
// no difference.
func sameDocument(a, b any) bool {
	ea, err := bson.Marshal(a)
	if err != nil {
		return false
	}
	eb, err := bson.Marshal(b)
	return err == nil && bytes.Equal(ea, eb)
}

// EnsureCompany creates the company, named after its id, if it is missing.
func (s *Store) EnsureCompany(ctx context.Context, id string) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	_, err := s.companies.InsertOne(ctx, store.Company{ID: id, Name: id})
	if mongo.IsDuplicateKeyError(err) {
		return nil
	}
	return wrap("ensure company", err)
}

// Companies lists every company.
func (s *Store) Companies(ctx context.Context) ([]store.Company, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var out []store.Company
	return out, wrap("list companies", s.findAll(ctx, s.companies, &out))
}

// PutNetwork creates the network or replaces its members and position; a
// network stored as n already is not written.
func (s *Store) PutNetwork(ctx context.Context, n store.Network) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var stored store.Network
	err := s.networks.FindOne(ctx, bson.M{"_id": n.ID}).Decode(&stored)
	switch {
	case err == nil && stored.Position == n.Position && slices.Equal(stored.Members, n.Members):
		return nil
	case err != nil && !errors.Is(err, mongo.ErrNoDocuments):
		return wrap("put network", err)
	}
	if n.Members == nil {
		n.Members = []string{}
	}
	_, err = s.networks.ReplaceOne(ctx, bson.M{"_id": n.ID}, n, options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		_, err = s.networks.ReplaceOne(ctx, bson.M{"_id": n.ID}, n)
	}
	return wrap("put network", err)
}

// addedNetworkPosition is the Position of a network made by
// AddNetworkMember: after every seeded one.
const addedNetworkPosition = 1 << 20

// AddNetworkMember adds company to network, creating the network if it is
// missing.
func (s *Store) AddNetworkMember(ctx context.Context, network, company string) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	for range putAttempts {
		res, err := s.networks.UpdateOne(ctx, bson.M{"_id": network}, bson.M{"$addToSet": bson.M{"members": company}})
		if err != nil {
			return wrap("add network member", err)
		}
		if res.MatchedCount == 1 {
			return nil
		}
		_, err = s.networks.InsertOne(ctx, store.Network{ID: network, Members: []string{company}, Position: addedNetworkPosition})
		if !mongo.IsDuplicateKeyError(err) {
			return wrap("add network member", err)
		}
		// Created meanwhile by another gateway: add to that one.
	}
	return errors.New("add network member: the network kept changing")
}

// Networks lists every network.
func (s *Store) Networks(ctx context.Context) ([]store.Network, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var out []store.Network
	return out, wrap("list networks", s.findAll(ctx, s.networks, &out))
}

// Clients lists every API client, revoked ones included.
func (s *Store) Clients(ctx context.Context) ([]store.Client, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var out []store.Client
	return out, wrap("list clients", s.findAll(ctx, s.clients, &out))
}

// CountClients counts the API clients, revoked ones included.
func (s *Store) CountClients(ctx context.Context) (int64, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	n, err := s.clients.CountDocuments(ctx, bson.M{}, options.Count().SetHint(idxID))
	return n, wrap("count clients", err)
}

// FindClient returns the client with this apiKey, or ErrNotFound.
func (s *Store) FindClient(ctx context.Context, apiKey string) (*store.Client, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	return s.findClient(ctx, apiKey)
}

func (s *Store) findClient(ctx context.Context, apiKey string) (*store.Client, error) {
	var c store.Client
	if err := s.clients.FindOne(ctx, bson.M{"_id": apiKey}).Decode(&c); err != nil {
		return nil, wrap("find client", err)
	}
	return &c, nil
}

// InsertClient stores a new client; ErrDuplicate if the apiKey is taken.
// CreatedAt defaults to now.
func (s *Store) InsertClient(ctx context.Context, c store.Client) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	if c.CreatedAt == 0 {
		c.CreatedAt = time.Now().UnixMilli()
	}
	if _, err := s.clients.InsertOne(ctx, c); err != nil {
		return wrap("insert client", err)
	}
	return s.clientsChanged(ctx)
}

// PutClient makes the stored client match c (a seed entry): it is created
// if missing, and its secret, company and user are updated if they differ;
// a client that matches already is not written. CreatedAt and a revocation
// are kept: applying a seed again never brings a revoked key back.
func (s *Store) PutClient(ctx context.Context, c store.Client) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	for range putAttempts {
		stored, err := s.findClient(ctx, c.APIKey)
		switch {
		case err == nil && stored.SecretHash == c.SecretHash && stored.CompanyID == c.CompanyID && stored.UserID == c.UserID:
			return nil
		case err == nil:
			_, err = s.clients.UpdateOne(ctx, bson.M{"_id": c.APIKey},
				bson.M{"$set": bson.M{"secretHash": c.SecretHash, "companyId": c.CompanyID, "userId": c.UserID}})
			if err != nil {
				return wrap("put client", err)
			}
			return s.clientsChanged(ctx)
		case !errors.Is(err, store.ErrNotFound):
			return store.Wrap("put client", err)
		}
		fresh := c
		fresh.CreatedAt, fresh.RevokedAt = time.Now().UnixMilli(), 0
		_, err = s.clients.InsertOne(ctx, fresh)
		if err == nil {
			return s.clientsChanged(ctx)
		}
		if !mongo.IsDuplicateKeyError(err) {
			return wrap("put client", err)
		}
		// Created meanwhile by another gateway: compare with that one.
	}
	return errors.New("put client: the client kept changing")
}

// RevokeClient revokes the client, and with it every client it minted, and
// theirs, breadth first; ErrNotFound if there is no such client. Revoking
// a revoked client changes nothing, and its minted clients are still
// revoked, so a client minted while a revocation ran is caught by the next.
func (s *Store) RevokeClient(ctx context.Context, apiKey string) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	now := time.Now().UnixMilli()
	if err := s.revokeOneClient(ctx, apiKey, now); err != nil {
		return err
	}
	seen := map[string]bool{apiKey: true}
	for queue := []string{apiKey}; len(queue) > 0; queue = queue[1:] {
		cur, err := s.clients.Find(ctx, bson.M{"mintedBy": queue[0]},
			options.Find().SetHint(idxClientMintedBy).SetProjection(bson.M{"_id": 1}))
		if err != nil {
			return wrap("find minted clients", err)
		}
		var minted []struct {
			Key string `bson:"_id"`
		}
		if err := cur.All(ctx, &minted); err != nil {
			return wrap("find minted clients", err)
		}
		for _, m := range minted {
			if seen[m.Key] {
				continue
			}
			seen[m.Key] = true
			if err := s.revokeOneClient(ctx, m.Key, now); err != nil {
				return err
			}
			queue = append(queue, m.Key)
		}
	}
	return s.clientsChanged(ctx)
}

// revokeOneClient sets the client's revokedAt unless it is set already.
func (s *Store) revokeOneClient(ctx context.Context, apiKey string, now int64) error {
	res, err := s.clients.UpdateOne(ctx, bson.M{"_id": apiKey, "revokedAt": int64(0)},
		bson.M{"$set": bson.M{"revokedAt": now}})
	if err != nil {
		return wrap("revoke client", err)
	}
	if res.MatchedCount == 0 {
		// Revoked already, or missing.
		if _, err := s.findClient(ctx, apiKey); err != nil {
			return store.Wrap("revoke client", err)
		}
	}
	return nil
}

// clientsRevisionKey is the counter of client changes among the sequences;
// sequence keys have three parts (store.SequenceKey), so it cannot collide
// with one.
const clientsRevisionKey = `["clients-revision"]`

// clientsChanged counts a change of the clients (ClientsRevision).
func (s *Store) clientsChanged(ctx context.Context) error {
	_, err := s.reserve(ctx, clientsRevisionKey, 1)
	return store.Wrap("count a change of the clients", err)
}

// ClientsRevision counts the creations, updates and revocations of
// clients, so that a gateway learns of a change by reading one document
// instead of every client. It is 0 before the first.
func (s *Store) ClientsRevision(ctx context.Context) (int64, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var doc sequenceDoc
	err := s.sequences.FindOne(ctx, bson.M{"_id": clientsRevisionKey}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	return doc.Seq, wrap("clients revision", err)
}

// sequenceDoc is a counter: its key (store.SequenceKey) and value.
type sequenceDoc struct {
	Key string `bson:"_id"`
	Seq int64  `bson:"seq"`
}

// NextSequence returns the next number of the named counter of a company
// in a dataspace, starting at 1 (see store.Sequencer).
func (s *Store) NextSequence(ctx context.Context, dataspace, ownerID, name string) (int64, error) {
	return s.seq.Next(ctx, dataspace, ownerID, name)
}

// reserve atomically adds size to the counter key, creating it at 0, and
// returns its new value: one findAndModify, so that no two gateways get
// the same numbers. Only a reservation is a store operation with the
// store's deadline: most numbers come from a block in memory.
func (s *Store) reserve(ctx context.Context, key string, size int64) (int64, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var doc sequenceDoc
	var err error
	// Two first calls may both try to create the counter; the loser of
	// that race gets a duplicate key error and adds to the winner's.
	for range putAttempts {
		err = s.sequences.FindOneAndUpdate(ctx, bson.M{"_id": key}, bson.M{"$inc": bson.M{"seq": size}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&doc)
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	if err != nil {
		return 0, wrap("reserve sequence numbers", err)
	}
	return doc.Seq, nil
}

// findAll decodes every document of coll, in _id order, into out.
func (s *Store) findAll(ctx context.Context, coll *mongo.Collection, out any) error {
	cur, err := coll.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetHint(idxID))
	if err != nil {
		return err
	}
	return cur.All(ctx, out)
}
