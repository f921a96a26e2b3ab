package mongodb

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The names of the indexes the store's queries run on. Each query that is
// not by _id names its index as a hint: MongoDB then uses that index or
// fails the query, and never scans the collection instead.
const (
	idxClientPlate     = "licensePlate"           // clients: FindEffect
	idxClientMintedBy  = "mintedBy"               // clients: RevokeClient's cascade
	idxCommentPosition = "incidentId_position"    // comments: ListComments, FindIncident
	idxActivityVersion = "incidentId_dataVersion" // activities: ListActivities, FindIncident
	idxActivityPlate   = "licensePlate"           // activities: FindEffect
	idxActivityPending = "pendingAt"              // activities: RollForward
	idxExpiresAt       = "expiresAt"              // idempotency, oauth_tokens: TTL and the Expire methods
	idxID              = "_id_"                   // every collection: counting and listing
	idxIncidentParent  = "dataspace_parentId"     // incidents: FindChildren
	idxCommentID       = "id_incidentId"          // comments: FindCommentByID
	idxUserID          = "userId"                 // users: FindUserByID
)

// noParent is the parentId of a top-level object. idxIncidentParent holds
// the objects whose parentId is above it (strings other than ""), and
// every query on the index says so too, so that MongoDB may use the index
// for it.
const noParent = ""

// codeNotImplemented is the server's answer to an option it lacks.
const codeNotImplemented = 238

// index is one index of one collection.
type index struct {
	coll   *mongo.Collection
	name   string
	keys   []string // ascending
	unique bool
	// sparse leaves out the documents without the (first) field.
	sparse bool
	// ttl makes it a TTL index on a date field: a document goes once the
	// date has passed.
	ttl bool
	// partial, if set, makes it a partial index of the documents that
	// match this filter.
	partial bson.D
}

// indexes are every index the store relies on besides the _id ones.
func (s *Store) indexes() []index {
	return append([]index{
		// A client has a plate only when an event created it, and a minter
		// only when another client minted it: sparse, so that the seeded
		// clients take no room in these indexes.
		{coll: s.clients, name: idxClientPlate, keys: []string{"licensePlate"}, sparse: true},
		{coll: s.clients, name: idxClientMintedBy, keys: []string{"mintedBy"}, sparse: true},
		// An incident's comments in order; a position is held once per
		// incident.
		{coll: s.comments, name: idxCommentPosition, keys: []string{"incidentId", "position"}, unique: true},
		// An incident's history in order, one entry per version, also on a
		// sharded cluster, where _id is unique per shard only.
		{coll: s.activities, name: idxActivityVersion, keys: []string{"incidentId", "dataVersion"}, unique: true},
		{coll: s.activities, name: idxActivityPlate, keys: []string{"licensePlate"}},
		// Only entries whose change is not yet applied have pendingAt.
		{coll: s.activities, name: idxActivityPending, keys: []string{"pendingAt"}, sparse: true},
		// An object's children in the order they were made. Only children
		// have a parentId other than "" (older objects have none): partial,
		// so that the top-level objects take no room in it.
		{coll: s.incidents, name: idxIncidentParent, keys: []string{"dataspace", "parentId", "creationDateTime", "incidentId"},
			partial: bson.D{{Key: "parentId", Value: bson.M{"$gt": noParent}}}},
		// A comment by its id alone; the incident orders ids held twice.
		{coll: s.comments, name: idxCommentID, keys: []string{"id", "incidentId"}},
		// A user by the user id objects name, which no two users share.
		// Sparse: users written before users had ids have none until
		// Open gives them theirs (backfillUserIDs).
		{coll: s.users, name: idxUserID, keys: []string{"userId"}, unique: true, sparse: true},
		{coll: s.idempotency, name: idxExpiresAt, keys: []string{"expiresAt"}, ttl: true},
		{coll: s.tokens, name: idxExpiresAt, keys: []string{"expiresAt"}, ttl: true},
	}, append(append(s.searchIndexes(), s.feedIndexes()...), s.webhookIndexes()...)...)
}

// model is the index as the driver creates it: with all its options, or
// (all false) without its TTL and its partial filter, for a server that
// lacks them.
func (ix index) model(all bool) mongo.IndexModel {
	keys := bson.D{}
	for _, k := range ix.keys {
		keys = append(keys, bson.E{Key: k, Value: 1})
	}
	o := options.Index().SetName(ix.name)
	if ix.unique {
		o.SetUnique(true)
	}
	if ix.sparse {
		o.SetSparse(true)
	}
	if ix.ttl && all {
		o.SetExpireAfterSeconds(0)
	}
	if ix.partial != nil && all {
		o.SetPartialFilterExpression(ix.partial)
	}
	return mongo.IndexModel{Keys: keys, Options: o}
}

// ensureIndexes creates every index; creating one that exists as
// specified is a no-op, so this runs at every start, on every gateway.
//
// A server without TTL indexes (FerretDB answers NotImplemented) gets the
// same index without the TTL: ExpireIdempotencyKeys and ExpireTokens delete
// what has expired either way, and need the index to find it. A server
// without partial indexes (FerretDB again) gets the index of every
// document: the queries on it find the same documents, and it takes more
// room.
func (s *Store) ensureIndexes(ctx context.Context) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	for _, ix := range s.indexes() {
		_, err := ix.coll.Indexes().CreateOne(ctx, ix.model(true))
		var ce mongo.CommandError
		if err != nil && (ix.ttl || ix.partial != nil) && errors.As(err, &ce) && ce.Code == codeNotImplemented {
			_, err = ix.coll.Indexes().CreateOne(ctx, ix.model(false))
		}
		if err != nil {
			return wrap(fmt.Sprintf("create index %s of %s", ix.name, ix.coll.Name()), err)
		}
	}
	return nil
}
