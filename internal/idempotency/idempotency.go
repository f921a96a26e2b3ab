// Package idempotency carries out a request with an Idempotency-Key once:
// it claims the key for the request, answers a retry with the recorded
// answer, makes a retry wait while the first request runs, lets a retry
// take the key over when the first request died, and records the answer
// the first request sent, sealed under its caller's secret. What a dead
// request changed, and how to answer from it, is its caller's business.
package idempotency

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// DefaultTTL is how long an idempotency key is remembered.
const DefaultTTL = 24 * time.Hour

// Store is the persistence of the keys' records.
type Store interface {
	ClaimIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord) (*store.IdempotencyRecord, error)
	FindIdempotencyKey(ctx context.Context, key string) (*store.IdempotencyRecord, error)
	FinishIdempotencyKey(ctx context.Context, key, plate string, status int, body []byte) error
	ReleaseIdempotencyLease(ctx context.Context, key, plate string) error
	TakeOverIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord, leaseUntil time.Time) (bool, error)
}

// Keys claims and records idempotency keys.
type Keys struct {
	Store Store
	// Now is the clock leases and expiry read.
	Now func() time.Time
	// Lease is how long a claim holds its key: longer than the request
	// that holds it can run, so that a lease that ran out means the
	// request is gone.
	Lease time.Duration
	// TTL is how long a key is remembered.
	TTL time.Duration
	Log zerolog.Logger
}

// Owner is whose key it is: keys belong to the caller that sent them (its
// company, API client and user), so another caller's same key is another
// key. Seed, when set, seals the recorded answers (credentials.Seal).
type Owner struct {
	CompanyID, ClientID, UserID string
	Seed                        []byte
}

// Claim is a key held by the request being handled.
type Claim struct {
	id    string // the record's _id: the owner and its key
	plate string
	seed  []byte
	// dead, when set, is the record of the request that held the key
	// before and died: this claim took the key over.
	dead *store.IdempotencyRecord
}

// ID is the key's record id (store.IdempotencyRecord.Key).
func (c *Claim) ID() string { return c.id }

// Plate is the license plate the answer and the change carry: the
// request's own, or that of the dead request whose key it took over.
func (c *Claim) Plate() string { return c.plate }

// TookOver reports whether the claim took over the key of a request that
// died, and so whether that request's change may already be stored (under
// Plate, in Dataspace).
func (c *Claim) TookOver() bool { return c.dead != nil }

// Dataspace is where the dead request of a takeover acted.
func (c *Claim) Dataspace() string {
	if c.dead == nil {
		return ""
	}
	return c.dead.Dataspace
}

// poll is how often a retry looks whether the first request with its key
// has finished.
const poll = 20 * time.Millisecond

// Claim makes the request the holder of its key, or finds the answer to
// send instead:
//   - a new key is claimed, under plate;
//   - a key used for a different request (another hash) is 422;
//   - a key whose request was answered gives that answer again, opened
//     for the owner (the replay);
//   - a key whose request is still running is waited for, up to ctx's
//     end (then 503);
//   - a key whose request died (its lease ran out) is taken over, under
//     the dead request's plate (see Claim.TookOver).
func (k *Keys) Claim(ctx context.Context, owner Owner, key, hash, plate, dataspace string) (*Claim, *store.IdempotencyRecord, error) {
	now := k.Now()
	rec := &store.IdempotencyRecord{
		Key:          store.IdempotencyKeyID(owner.CompanyID, owner.ClientID, owner.UserID, key),
		RequestHash:  hash,
		LicensePlate: plate,
		Dataspace:    dataspace,
		State:        store.IdempotencyPending,
		LeaseUntil:   now.Add(k.Lease),
		CreatedAt:    now,
		ExpiresAt:    now.Add(k.TTL),
	}
	existing, err := k.Store.ClaimIdempotencyKey(ctx, rec)
	if err != nil {
		return nil, nil, err
	}
	for existing != nil {
		if existing.RequestHash != hash {
			return nil, nil, envelope.Errorf(envelope.KindIdempotencyKeyReuse,
				"Idempotency-Key %q was used for a different request (license plate %s); use a new key for a new request", key, existing.LicensePlate)
		}
		if existing.State == store.IdempotencyDone {
			body, err := open(owner.Seed, existing.Key, existing.Body)
			if err != nil {
				// Only a secret changed under the same apiKey (a seed
				// rewrite) gets here.
				return nil, nil, envelope.Errorf(envelope.KindIdempotencyKeyReuse,
					"Idempotency-Key %q was answered to this apiKey under another apiSecret (license plate %s); use a new key", key, existing.LicensePlate)
			}
			replay := *existing
			replay.Body = body
			return nil, &replay, nil
		}
		if k.Now().After(existing.LeaseUntil) {
			won, err := k.Store.TakeOverIdempotencyKey(ctx, existing, k.Now().Add(k.Lease))
			if err != nil {
				return nil, nil, err
			}
			if won {
				return &Claim{id: existing.Key, plate: existing.LicensePlate, seed: owner.Seed, dead: existing}, nil, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, nil, &envelope.Error{Kind: envelope.KindServiceUnavailable, RetryAfter: time.Second,
				Message: "the first request with this Idempotency-Key is still running; retry later"}
		case <-time.After(poll):
		}
		if existing, err = k.Store.FindIdempotencyKey(ctx, existing.Key); errors.Is(err, store.ErrNotFound) {
			return k.Claim(ctx, owner, key, hash, plate, dataspace) // expired meanwhile
		} else if err != nil {
			return nil, nil, err
		}
	}
	return &Claim{id: rec.Key, plate: rec.LicensePlate, seed: owner.Seed}, nil, nil
}

// Finish records the answer of the request holding a claim. A server-side
// failure may or may not have had its effect, so instead of recording it
// the lease is ended: the next retry takes the key over and finds out.
func (k *Keys) Finish(c *Claim, status int, body []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	if status >= 500 {
		err = k.Store.ReleaseIdempotencyLease(ctx, c.id, c.plate)
	} else {
		err = k.Store.FinishIdempotencyKey(ctx, c.id, c.plate, status, seal(c.seed, c.id, body))
	}
	if err != nil {
		// The answer was sent; a retry will take the key over once the
		// lease runs out and rebuild the answer from the change.
		k.Log.Warn().Err(err).Str("licensePlate", c.plate).Msg("could not record the answer of an idempotent request")
	}
}

// sealedPrefix starts a recorded answer that is sealed; no JSON answer
// starts so.
var sealedPrefix = []byte("scwm-sealed-v1:")

// seal is the form an answer is recorded in: sealed under the owner's seed
// when it has one (credentials.Seal), so that the store never holds a
// minted apiSecret, or any answer, in clear, and only the caller that
// presents the same secret can read it again.
func seal(seed []byte, id string, body []byte) []byte {
	if seed == nil {
		return body
	}
	return append(append([]byte{}, sealedPrefix...), credentials.Seal(seed, id, body)...)
}

// open undoes seal for the owner's seed.
func open(seed []byte, id string, recorded []byte) ([]byte, error) {
	sealed, ok := bytes.CutPrefix(recorded, sealedPrefix)
	if !ok {
		return recorded, nil
	}
	if seed == nil {
		return nil, credentials.ErrSealed
	}
	return credentials.Open(seed, id, sealed)
}
