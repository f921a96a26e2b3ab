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

// Idempotency records keep their times (LeaseUntil, CreatedAt, ExpiresAt)
// as BSON dates: to the millisecond, and so are the times compared with
// them (TakeOverIdempotencyKey's LeaseUntil).

// ClaimIdempotencyKey records rec as the claim of its key. If the key is
// held by a record that has not expired by rec.CreatedAt, it returns that
// record and claims nothing; an expired record is replaced by rec, and
// then (nil, nil) says the claim is rec's.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord) (*store.IdempotencyRecord, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	for range putAttempts {
		_, err := s.idempotency.InsertOne(ctx, rec)
		if err == nil {
			return nil, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return nil, wrap("claim idempotency key", err)
		}
		existing, err := s.findIdempotencyKey(ctx, rec.Key)
		if errors.Is(err, store.ErrNotFound) {
			continue // expired and deleted meanwhile: claim again
		}
		if err != nil {
			return nil, err
		}
		if existing.ExpiresAt.After(rec.CreatedAt) {
			return existing, nil
		}
		// Expired but not yet deleted: replace it, on condition that it
		// is still the record read, so that of two claimers one wins.
		res, err := s.idempotency.ReplaceOne(ctx, bson.M{"_id": rec.Key, "expiresAt": existing.ExpiresAt}, rec)
		if err != nil {
			return nil, wrap("claim idempotency key", err)
		}
		if res.MatchedCount == 1 {
			return nil, nil
		}
	}
	return nil, errors.New("claim idempotency key: the key kept changing")
}

// FindIdempotencyKey loads a key's record, or ErrNotFound.
func (s *Store) FindIdempotencyKey(ctx context.Context, key string) (*store.IdempotencyRecord, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	return s.findIdempotencyKey(ctx, key)
}

func (s *Store) findIdempotencyKey(ctx context.Context, key string) (*store.IdempotencyRecord, error) {
	var rec store.IdempotencyRecord
	if err := s.idempotency.FindOne(ctx, bson.M{"_id": key}).Decode(&rec); err != nil {
		return nil, wrap("find idempotency key", err)
	}
	return &rec, nil
}

// FinishIdempotencyKey records the answer of the request that holds the
// key under plate; a key another request holds now is left alone.
func (s *Store) FinishIdempotencyKey(ctx context.Context, key, plate string, status int, body []byte) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	_, err := s.idempotency.UpdateOne(ctx, bson.M{"_id": key, "licensePlate": plate},
		bson.M{"$set": bson.M{"state": store.IdempotencyDone, "status": status, "body": body}})
	return wrap("finish idempotency key", err)
}

// ReleaseIdempotencyLease ends the lease of a pending key held under plate
// at once, so that the next retry takes it over instead of waiting.
func (s *Store) ReleaseIdempotencyLease(ctx context.Context, key, plate string) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	_, err := s.idempotency.UpdateOne(ctx, bson.M{"_id": key, "licensePlate": plate, "state": store.IdempotencyPending},
		bson.M{"$set": bson.M{"leaseUntil": time.Unix(0, 0)}})
	return wrap("release idempotency lease", err)
}

// TakeOverIdempotencyKey sets the lease of a pending key to leaseUntil on
// condition that its lease is still the one rec read, and reports whether
// it did: of concurrent takeovers of one lease, one wins. The condition is
// the update's filter, checked by the server.
func (s *Store) TakeOverIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord, leaseUntil time.Time) (bool, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	res, err := s.idempotency.UpdateOne(ctx,
		bson.M{"_id": rec.Key, "state": store.IdempotencyPending, "leaseUntil": rec.LeaseUntil},
		bson.M{"$set": bson.M{"leaseUntil": leaseUntil}})
	if err != nil {
		return false, wrap("take over idempotency key", err)
	}
	return res.MatchedCount == 1, nil
}

// ExpireIdempotencyKeys deletes the records that expired before now and
// reports how many. MongoDB's TTL monitor deletes them too, about once a
// minute; this is for a server whose monitor lags or that has none.
func (s *Store) ExpireIdempotencyKeys(ctx context.Context, now time.Time) (int64, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	n, err := s.expire(ctx, s.idempotency, now)
	return n, wrap("expire idempotency keys", err)
}

// expireBatch is how many documents one delete of a sweep removes: small,
// so that no delete holds the collection's writers long.
const expireBatch = 1000

// expire deletes the documents of coll whose expiresAt is before now, on
// the expiresAt index, and reports how many it deleted (sweep).
func (s *Store) expire(ctx context.Context, coll *mongo.Collection, now time.Time) (int64, error) {
	return s.sweep(ctx, coll, bson.M{"expiresAt": bson.M{"$lt": now}}, idxExpiresAt)
}

// sweep deletes the documents of coll that filter selects, a batch at a
// time, and reports how many it deleted: it finds a batch on the index
// hint names and deletes it by _id, in one delete. Each delete repeats
// the filter, so a document changed since it was found so that the filter
// no longer selects it stays.
func (s *Store) sweep(ctx context.Context, coll *mongo.Collection, filter bson.M, hint string) (int64, error) {
	var deleted int64
	for {
		cur, err := coll.Find(ctx, filter, options.Find().SetHint(hint).
			SetProjection(bson.M{"_id": 1}).SetLimit(expireBatch))
		if err != nil {
			return deleted, err
		}
		var ids []struct {
			Key string `bson:"_id"`
		}
		if err := cur.All(ctx, &ids); err != nil {
			return deleted, err
		}
		if len(ids) == 0 {
			return deleted, nil
		}
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = id.Key
		}
		del := bson.M{"_id": bson.M{"$in": keys}}
		for k, v := range filter {
			del[k] = v
		}
		res, err := coll.DeleteMany(ctx, del)
		if err != nil {
			return deleted, err
		}
		deleted += res.DeletedCount
		if len(ids) < expireBatch {
			return deleted, nil
		}
	}
}
