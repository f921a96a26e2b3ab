package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Idempotency record states.
const (
	IdempotencyPending = "pending" // the first request is running, or died
	IdempotencyDone    = "done"    // the response is recorded
)

// IdempotencyRecord remembers one idempotency key of one caller: which
// request claimed it, under which license plate, and, once it is answered,
// the answer, so that a retry gets the same one.
type IdempotencyRecord struct {
	// Key is the caller (company, API client, user) and the caller's key,
	// as the _id (IdempotencyKeyID).
	Key          string `bson:"_id"`
	RequestHash  string `bson:"requestHash"`
	LicensePlate string `bson:"licensePlate"`
	Dataspace    string `bson:"dataspace"`
	State        string `bson:"state"`
	Status       int    `bson:"status"`
	// Body is the recorded answer; the gateway seals the answers of callers
	// that authenticate with a secret, so that only they can read them.
	Body []byte `bson:"body"`
	// LeaseUntil is when a pending record may be taken over: by then the
	// request that claimed it has finished or died.
	LeaseUntil time.Time `bson:"leaseUntil"`
	CreatedAt  time.Time `bson:"createdAt"`
	// ExpiresAt is when the key is forgotten (TTL index on MongoDB; swept by
	// ExpireIdempotencyKeys on the embedded store).
	ExpiresAt time.Time `bson:"expiresAt"`
}

// IdempotencyKeyID is the _id of one caller's key. A key belongs to the
// caller that sent it (its company, API client and user), so that two
// callers who pick the same key never see each other's answers. The key
// must be valid UTF-8: the encoding would make every invalid byte the same.
func IdempotencyKeyID(companyID, client, user, key string) string {
	id, _ := json.Marshal([]string{companyID, client, user, key})
	return string(id)
}

// ClaimIdempotencyKey records rec as the claim of its key. If the key is
// already claimed and not expired, it returns the existing record instead
// (and claims nothing). An expired record is replaced.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec *IdempotencyRecord) (*IdempotencyRecord, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	for attempt := 0; attempt < 3; attempt++ {
		done, err := s.writeTurnContext(ctx)
		if err != nil {
			return nil, wrap("claim idempotency key", err)
		}
		_, err = s.idempotency.InsertOne(ctx, rec)
		done()
		if err == nil {
			return nil, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return nil, wrap("claim idempotency key", err)
		}
		existing, err := s.FindIdempotencyKey(ctx, rec.Key)
		if errors.Is(err, ErrNotFound) {
			continue // expired and swept meanwhile: claim again
		}
		if err != nil {
			return nil, err
		}
		if existing.ExpiresAt.After(rec.CreatedAt) {
			return existing, nil
		}
		// Expired but not yet swept: forget it and claim again.
		if _, err := s.idempotency.DeleteOne(ctx, bson.M{"_id": rec.Key, "expiresAt": existing.ExpiresAt}); err != nil {
			return nil, wrap("drop expired idempotency key", err)
		}
	}
	return nil, errors.New("claim idempotency key: the key kept changing")
}

// FindIdempotencyKey loads a key's record, or ErrNotFound.
func (s *Store) FindIdempotencyKey(ctx context.Context, key string) (*IdempotencyRecord, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var rec IdempotencyRecord
	if err := s.idempotency.FindOne(ctx, bson.M{"_id": key}).Decode(&rec); err != nil {
		return nil, wrap("find idempotency key", err)
	}
	return &rec, nil
}

// FinishIdempotencyKey records the answer of the request that holds the
// key under plate.
func (s *Store) FinishIdempotencyKey(ctx context.Context, key, plate string, status int, body []byte) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	_, err := s.updateKeyIf(ctx, key,
		func(r *IdempotencyRecord) bool { return r.LicensePlate == plate },
		bson.M{"licensePlate": plate},
		bson.M{"$set": bson.M{"state": IdempotencyDone, "status": status, "body": body}})
	return wrap("finish idempotency key", err)
}

// ReleaseIdempotencyLease ends the lease of a pending key at once, so that
// the next retry takes it over instead of waiting (used when the request
// failed in a way that may or may not have had its effect).
func (s *Store) ReleaseIdempotencyLease(ctx context.Context, key, plate string) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	_, err := s.updateKeyIf(ctx, key,
		func(r *IdempotencyRecord) bool { return r.LicensePlate == plate && r.State == IdempotencyPending },
		bson.M{"licensePlate": plate, "state": IdempotencyPending},
		bson.M{"$set": bson.M{"leaseUntil": time.Unix(0, 0)}})
	return wrap("release idempotency lease", err)
}

// TakeOverIdempotencyKey extends the lease of a pending key whose lease ran
// out, on condition that nobody took it over first. It reports whether this
// caller now holds the key.
func (s *Store) TakeOverIdempotencyKey(ctx context.Context, rec *IdempotencyRecord, leaseUntil time.Time) (bool, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	won, err := s.updateKeyIf(ctx, rec.Key,
		func(r *IdempotencyRecord) bool {
			return r.State == IdempotencyPending && r.LeaseUntil.Equal(rec.LeaseUntil)
		},
		bson.M{"state": IdempotencyPending, "leaseUntil": rec.LeaseUntil},
		bson.M{"$set": bson.M{"leaseUntil": leaseUntil}})
	return won, wrap("take over idempotency key", err)
}

// updateKeyIf applies update to a key's record if it meets a condition,
// and reports whether it did. MongoDB checks cond in the update's filter.
// FerretDB scans the whole collection for any filter but {_id}, so there
// the record is read and checked by ok under the record's lock, and the
// update names it by _id alone.
func (s *Store) updateKeyIf(ctx context.Context, key string, ok func(*IdempotencyRecord) bool, cond, update bson.M) (bool, error) {
	unlock, err := s.locks.lockContext(ctx, s.idempotency.Name(), key)
	if err != nil {
		return false, err
	}
	defer unlock()
	if s.ferret {
		rec, err := s.FindIdempotencyKey(ctx, key)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil || !ok(rec) {
			return false, err
		}
		done, err := s.writeTurnContext(ctx)
		if err != nil {
			return false, err
		}
		_, err = s.idempotency.UpdateOne(ctx, bson.M{"_id": key}, update)
		done()
		return err == nil, err
	}
	filter := bson.M{"_id": key}
	for k, v := range cond {
		filter[k] = v
	}
	res, err := s.idempotency.UpdateOne(ctx, filter, update)
	if err != nil {
		return false, err
	}
	return res.MatchedCount == 1, nil
}

// ExpireIdempotencyKeys forgets keys whose time is up. MongoDB's TTL index
// does the same on its own; the embedded store has no TTL indexes.
func (s *Store) ExpireIdempotencyKeys(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.idempotency.DeleteMany(ctx, bson.M{"expiresAt": bson.M{"$lt": now}})
	if err != nil {
		return 0, wrap("expire idempotency keys", err)
	}
	return res.DeletedCount, nil
}

// Effect is what a request with a given license plate changed, found from
// the plate alone, for answering a retry of a request that died after its
// change was written but before its answer was recorded.
type Effect struct {
	Incident *Incident // the incident the request created or changed
	Activity Activity  // its history entry
	Client   *Client   // or the API client it created
}

// FindEffect looks for the change a request made under plate. It returns
// ErrNotFound if the request changed nothing. The incident it returns is
// the version that change wrote.
//
// On FerretDB this scans the incident versions (it has no index but _id);
// it runs only for a retry of a request that died mid-way.
func (s *Store) FindEffect(ctx context.Context, dataspace, plate string) (*Effect, error) {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	var doc versionDoc
	err := s.versions.FindOne(ctx, bson.M{"licensePlate": plate, "dataspace": dataspace}).Decode(&doc)
	if err == nil {
		if _, err := decoded(&doc); err != nil {
			return nil, wrap("find effect", err)
		}
		return &Effect{Incident: &doc.Incident, Activity: doc.Activity}, nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, wrap("find effect", err)
	}
	var c Client
	err = s.clients.FindOne(ctx, bson.M{"licensePlate": plate}).Decode(&c)
	if err == nil {
		return &Effect{Client: &c}, nil
	}
	return nil, wrap("find effect", err)
}
