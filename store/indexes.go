package store

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ensureIndexes creates the indexes the gateway relies on; creating an index
// that exists is a no-op, so this runs at every start.
func (s *Store) ensureIndexes(ctx context.Context) error {
	if !s.ferret {
		// INC-<n> numbers are unique per company and dataspace even if a
		// sequence were ever reset by hand. Not on FerretDB: there each
		// index is a SQLite expression index that parses the document's
		// JSON on every write, and this one made adds 18% slower; the
		// atomic sequence alone keeps the numbers unique.
		_, err := s.incidents.Indexes().CreateMany(ctx, []mongo.IndexModel{{
			Keys:    bson.D{{Key: "dataspace", Value: 1}, {Key: "ownerId", Value: 1}, {Key: "number", Value: 1}},
			Options: options.Index().SetName("owner_number").SetUnique(true),
		}})
		if err != nil {
			return err
		}
	}
	_, err := s.clients.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "companyId", Value: 1}},
		Options: options.Index().SetName("company"),
	})
	if err != nil {
		return err
	}
	if !s.ferret {
		// Forgetting idempotency keys: MongoDB's TTL monitor deletes a
		// record once expiresAt has passed. FerretDB v1.24 has no TTL
		// indexes; there ExpireIdempotencyKeys does it.
		_, err = s.idempotency.Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys:    bson.D{{Key: "expiresAt", Value: 1}},
			Options: options.Index().SetName("expire").SetExpireAfterSeconds(0),
		})
	}
	return err
}
