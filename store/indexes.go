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
		// Not on FerretDB: there each index is a SQLite expression index
		// that parses the document's JSON on every write (the INC-number
		// index alone made adds markedly slower), and only {_id} lookups use
		// an index at all; the versions are found by _id there (see
		// latestVersion), the atomic sequence alone keeps INC numbers
		// unique, and FindEffect scans.
		_, err := s.versions.Indexes().CreateMany(ctx, []mongo.IndexModel{{
			// The latest version and the history of an incident; unique,
			// so that a version is written once even with another _id.
			Keys:    bson.D{{Key: "incidentId", Value: 1}, {Key: "dataVersion", Value: -1}},
			Options: options.Index().SetName("incident_version").SetUnique(true),
		}, {
			// INC-<n> numbers are unique per company and dataspace even if
			// a sequence were ever reset by hand; every version repeats the
			// number, so only the first counts.
			Keys: bson.D{{Key: "dataspace", Value: 1}, {Key: "ownerId", Value: 1}, {Key: "number", Value: 1}},
			Options: options.Index().SetName("owner_number").SetUnique(true).
				SetPartialFilterExpression(bson.M{"dataVersion": 1}),
		}, {
			// FindEffect: the version a request's license plate wrote.
			Keys:    bson.D{{Key: "licensePlate", Value: 1}},
			Options: options.Index().SetName("license_plate"),
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
		if err != nil {
			return err
		}
		// Expired OAuth tokens, the same way; ExpireTokens on FerretDB.
		_, err = s.tokens.Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys:    bson.D{{Key: "expiresAt", Value: 1}},
			Options: options.Index().SetName("expire").SetExpireAfterSeconds(0),
		})
	}
	return err
}
